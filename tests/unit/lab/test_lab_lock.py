"""One `up`/`down` of a lab name at a time across processes; re-entrant in one thread."""

from __future__ import annotations

import subprocess
import sys
import threading

from gin.lab.errors import LabError
from gin.lab.lab import exclusive

OTHER = ("import sys\nfrom gin.lab.lab import exclusive\n"
         "with exclusive('lk', sys.argv[1]):\n    print('got it')\n")


def _other_process(state_dir) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", OTHER, str(state_dir)], capture_output=True,
                          text=True, timeout=60)


def test_a_second_process_is_refused_while_held_and_served_after(tmp_path):
    with exclusive("lk", tmp_path), exclusive("lk", tmp_path):  # `up` calling `down`
        busy = _other_process(tmp_path)
        assert busy.returncode == 1 and "another gin process" in busy.stderr
        assert _other_process(tmp_path / "elsewhere").stdout.strip() == "got it"
    assert _other_process(tmp_path).stdout.strip() == "got it"


def test_another_thread_is_refused_too(tmp_path):
    """Re-entrant only in the holding thread: another thread gets the LabError."""
    errors: list[BaseException] = []

    def grab() -> None:
        try:
            with exclusive("lk", tmp_path):
                pass
        except LabError as exc:
            errors.append(exc)

    with exclusive("lk", tmp_path):
        worker = threading.Thread(target=grab)
        worker.start()
        worker.join()
    assert len(errors) == 1 and "another gin process" in str(errors[0])
