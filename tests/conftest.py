"""Fixtures shared by the whole suite: a fresh directory on SQLite and on real PostgreSQL.

PostgreSQL tests need ``GIN_TEST_PG_URL`` (``scripts/test.sh`` starts a throw-away
server and sets it).  Without it they skip, unless ``GIN_REQUIRE_INTEGRATION=1`` (CI),
where a skip would hide a missing part, so it fails instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from directory.store import Directory

REQUIRE = os.environ.get("GIN_REQUIRE_INTEGRATION") == "1"


def need(condition: bool, reason: str) -> None:
    """Skip when a real part is missing, or fail when CI requires every part to be present."""
    if condition:
        return
    if REQUIRE:
        pytest.fail(f"{reason} (GIN_REQUIRE_INTEGRATION=1 turns this skip into a failure)")
    pytest.skip(reason)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A brand-new PostgreSQL database for one test, dropped afterwards."""
    base = os.environ.get("GIN_TEST_PG_URL")
    need(bool(base), "needs PostgreSQL: set GIN_TEST_PG_URL (scripts/test.sh does)")
    assert base
    name = f"gin_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'directory.sqlite'}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request) -> str:
    """The same test on the embedded default and on a real PostgreSQL server."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    return request.getfixturevalue(name)


@pytest.fixture
def directory(db_url) -> Iterator[Directory]:
    d = Directory(db_url, actor="tester")
    yield d
    d.close()


@pytest.fixture(autouse=True, scope="session")
def _own_data_home(tmp_path_factory) -> Iterator[None]:
    """Every change gin pushes is journaled in the default directory database unless told
    otherwise: tests keep it (and any other per-user data) out of the real home."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data_home")))
        yield


#: Integration tests in two streams of about equal length: the routers' labs (these, with
#: every test on the session's shared lab, so that it is built once) and the service's
#: (server, console, monitor, sensor, ...): about 970 and 850 s in one measured run.
LAB_STREAM = ("audit/", "devices/", "lab/", "links/", "vpn/", "monitor/test_monitor_lab.py",
              "monitor/test_monitor_bgp_lab.py", "sensor/test_sensor_gsi_routers.py",
              "test_day_in_the_gin.py", "test_demo_day.py")


def stream_of(nodeid: str) -> str | None:
    """The integration stream a test runs in (None: a unit test, scheduled on its own)."""
    where = nodeid.removeprefix("tests/integration/")
    if where == nodeid:
        return None
    return "labs" if where.startswith(LAB_STREAM) else "service"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under ``pytest -n 3 --dist loadscope`` (scripts/test.sh) each integration stream is
    one scope, run by one worker one test after another as without xdist (a stream never
    has two of its labs up at once; the streams use distinct lab names, namespaces and free
    ports), and the unit tests fill the third worker: most of an integration test's time is
    spent waiting on daemons, so the three share two cores well.  (xdist's own ``loadgroup``
    ignores its marks under pytest 9.2: pytest-xdist issue 1386.)"""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Streams(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return stream_of(nodeid) or nodeid

    return Streams(config, log)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test on the session's shared lab outside the lab stream would build a second one."""
    for item in items:
        if "gin_lab" in getattr(item, "fixturenames", ()) and stream_of(item.nodeid) != "labs":
            raise pytest.UsageError(f"{item.nodeid} uses the session lab: add its file to "
                                    "LAB_STREAM in tests/conftest.py")
