"""A built wheel works on its own: installed in a fresh venv and run outside the checkout,
gin finds its playbooks, templates and data inside the installed package.

No root needed, but it builds a wheel and runs Ansible, so it sits with the slow tests.  The
wheel is installed without dependencies; the locked ones are made visible through a .pth
file naming this interpreter's site-packages (which does not activate the checkout's
editable install: .pth files inside a path added that way are not processed).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[3]


def _sh(argv: list[str], cwd: Path, env: dict[str, str] | None = None,
        check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise AssertionError(f"{argv} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv holding only the wheel built from the tracked files of this checkout."""
    base = tmp_path_factory.mktemp("wheel")
    src = base / "src"
    tracked = _sh(["git", "ls-files", "-z"], cwd=ROOT).stdout.split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():  # a file deleted but not yet committed is skipped
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    _sh([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
         "-w", str(base / "dist"), str(src)], cwd=base)
    wheel = next((base / "dist").glob("gin-*.whl"))
    venv = base / "venv"
    _sh([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    _sh([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
         "--no-deps", "--no-index", str(wheel)], cwd=base)
    purelib = _sh([str(venv / "bin" / "python"), "-c",
                   "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                  cwd=base).stdout.strip()
    locked = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(purelib) / "gin-locked-deps.pth").write_text("".join(p + "\n" for p in locked))
    return venv


@pytest.fixture
def env(installed, tmp_path) -> dict[str, str]:
    """Outside the checkout: no PYTHONPATH, no active venv; the locked deps' commands
    (ansible-playbook) stay on PATH after the installed venv's own."""
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    path = [str(installed / "bin"), str(Path(sys.executable).parent), "/usr/sbin", "/usr/bin",
            "/bin"]
    return {**clean, "PATH": os.pathsep.join(path), "GIN_DB": str(tmp_path / "d.sqlite"),
            "GIN_ACTOR": "wheel-test"}


def test_help_and_package_data_come_from_the_installed_wheel(installed, env, tmp_path):
    done = _sh([str(installed / "bin" / "gin"), "--help"], cwd=tmp_path, env=env)
    assert "directory" in done.stdout and "monitor" in done.stdout
    where = _sh([str(installed / "bin" / "python"), "-c",
                 "import json, gin, devices.transport.ansible as a; "
                 "print(json.dumps([gin.__file__, str(a.PLAYBOOKS)]))"],
                cwd=tmp_path, env=env).stdout
    gin_file, playbooks = (Path(p) for p in json.loads(where))
    assert installed in gin_file.parents and installed in playbooks.parents
    assert {p.name for p in playbooks.glob("*.yml")} == {"gin_commands.yml", "gin_link.yml"}


def _directory_with_a_link(gin: str, env: dict[str, str], cwd: Path) -> None:
    """Two Cisco IOS ends whose SSH port is closed (port 9 on loopback): enough for the
    dry run to read each end's config through Ansible and fail to connect."""
    _sh([gin, "directory", "plan", "apply"], cwd, env)
    where = ["--mgmt-address", "127.0.0.1", "--mgmt-port", "9", "--credential-ref", "env:GIN_WT"]
    for args in (["agency", "add", "GIN", "--name-en", "GIN operator", "--kind", "gin"],
                 ["agency", "add", "DOPA", "--name-en", "Dept of Provincial Administration"],
                 ["site", "add", "GIN", "core"], ["site", "add", "DOPA", "hq"],
                 ["device", "add", "pe1", "--agency", "GIN", "--site", "core", "--role", "pe",
                  "--platform", "cisco_ios", "--asn", "65000", *where],
                 ["device", "add", "ce1", "--agency", "DOPA", "--site", "hq", "--role", "ce",
                  "--platform", "cisco_ios", *where]):
        _sh([gin, "directory", *args], cwd, env)
    _sh([gin, "link", "plan", "DOPA", "--site", "hq", "--pe", "pe1:Gi0/1", "--ce", "ce1:Gi0/0"],
        cwd, env)


def test_ansible_dry_run_runs_the_installed_playbook(installed, env, tmp_path):
    if not shutil.which("ansible-playbook", path=env["PATH"]):
        if os.environ.get("GIN_REQUIRE_INTEGRATION") == "1":
            pytest.fail("ansible-playbook is not installed")
        pytest.skip("ansible-playbook is not installed")
    gin = str(installed / "bin" / "gin")
    env = {**env, "GIN_WT": json.dumps({"username": "gin", "password": "not-a-real-one"})}
    _directory_with_a_link(gin, env, tmp_path)
    done = _sh([gin, "link", "provision", "dopa-ce1", "--via", "ansible", "--dry-run", "--json"],
               tmp_path, env, check=False)
    (result,) = json.loads(done.stdout)
    # The task name comes from the installed gin_commands.yml: Ansible found and ran it, and
    # only the connection failed.  A missing playbook ends the runner before any task.
    assert done.returncode == 3 and result["status"] == "failed", done.stdout
    assert "Ansible task 'run commands' failed" in result["message"], result["message"]
    assert "not-a-real-one" not in done.stdout + done.stderr

    inventory = json.loads(_sh([str(installed / "bin" / "gin-inventory"), "--list"],
                               tmp_path, env).stdout)
    assert inventory["_meta"]["hostvars"]["ce1"]["ansible_network_os"] == "cisco.ios.ios"
