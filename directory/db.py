"""Engines and sessions: SQLite by default, any SQLAlchemy URL (PostgreSQL at scale).

Why the SQLite tweaks: several ``gin`` processes may write at once (an engineer and the
monitor agent).  Every write transaction starts with ``BEGIN IMMEDIATE`` so two
allocators serialise on the database lock instead of failing on upgrade, WAL lets
readers run beside the writer, and a busy timeout waits instead of erroring.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from .errors import DirectoryError

MIGRATIONS = Path(__file__).with_name("migrations")


#: One data directory for a whole team: ``gin serve --data-dir`` and its workers set it.
DATA_DIR_ENV = "GIN_DATA_DIR"


def data_home() -> Path:
    """The one place gin keeps its files (config backups and host files, web evidence, the
    VPN sealing key, the default SQLite directory): ``$GIN_DATA_DIR`` when set (the shared
    service's data directory), else per user ``$XDG_DATA_HOME/gin`` (``~/.local/share/gin``).
    Every such path is derived here (:func:`user_data_path`), never from the home folder."""
    shared = os.environ.get(DATA_DIR_ENV)
    if shared:
        return Path(shared).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "gin"


def set_data_dir(path: str | os.PathLike[str]) -> Path:
    """Make ``path`` this process's data directory (and its children's, through
    ``$GIN_DATA_DIR``): created mode 0700 when missing, since it holds the sealing key."""
    target = Path(path).expanduser().resolve()
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.environ[DATA_DIR_ENV] = str(target)
    return target


def user_data_path(env: str, name: str) -> Path:
    """``$env`` when set, else ``data_home() / name``: every kind of per-user data (backups,
    audit runs, web evidence, ...) lives beside the directory unless moved on its own."""
    value = os.environ.get(env)
    return Path(value) if value else data_home() / name


def default_db_path() -> Path:
    """Per-user default: ``$XDG_DATA_HOME/gin/directory.sqlite`` (``~/.local/share/...``)."""
    return data_home() / "directory.sqlite"


def resolve_url(db: str | None = None) -> str:
    """Turn ``--db`` / ``GIN_DB`` (a path or an SQLAlchemy URL) into a URL."""
    db = db or os.environ.get("GIN_DB")
    if not db:
        path = default_db_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if "://" in db:
        return db
    return f"sqlite:///{Path(db).expanduser().resolve()}"


def _sqlite_setup(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=60000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _create_private(path: Path) -> None:
    """A new SQLite file is created readable by its owner only (0600): it holds the change
    log, sealed secrets and password hashes.  SQLite gives its -wal/-shm files the same mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def make_engine(url: str) -> Engine:
    """Create an engine for ``url`` with the settings this project relies on."""
    try:
        if url.startswith("sqlite"):
            path = make_url(url).database  # None or "" for "sqlite://": in memory
            if path and path != ":memory:" and not path.startswith("file:"):
                _create_private(Path(path))
            engine = create_engine(url, connect_args={"timeout": 60})
            _sqlite_setup(engine)
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # bad URL, missing driver
        raise DirectoryError(f"cannot open directory database {url!r}: {exc}") from exc
    return engine


def alembic_config(url: str):  # type: ignore[no-untyped-def]
    from alembic.config import Config  # imported only when migrating: it costs ~0.15 s

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (idempotent, safe under concurrency)."""
    from alembic import command

    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("SELECT pg_advisory_xact_lock(6777958)")  # one migrator at a time
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


_REVISION_RE = re.compile(r"^(down_revision|revision) = ['\"]([^'\"]+)['\"]$", re.M)


def head_revision() -> str:
    """The newest migration: the revision no other one revises.  Read from the files' own
    ``revision = "..."`` lines (ids need not be bare numbers), so every command learns that the
    schema is current without importing Alembic."""
    revisions, revised = set(), set()
    for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"):
        found = dict(_REVISION_RE.findall(path.read_text(encoding="utf-8")))
        revisions.add(found["revision"])
        if "down_revision" in found:
            revised.add(found["down_revision"])
    heads = revisions - revised
    if len(heads) != 1:
        raise DirectoryError(f"migrations: expected one head revision, found {sorted(heads)}")
    return heads.pop()


def needs_migration(engine: Engine) -> bool:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return True
        current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return current != head_revision()


def open_engine(db: str | None = None) -> Engine:
    """Resolve, connect, and migrate: what every entry point calls."""
    engine = make_engine(resolve_url(db))
    try:
        if needs_migration(engine):
            migrate(engine)
    except DirectoryError:
        raise
    except Exception as exc:
        raise DirectoryError(f"cannot open directory database {engine.url!r}: {exc}") from exc
    return engine


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back everything on any error."""
    with factory() as session, session.begin():
        yield session
