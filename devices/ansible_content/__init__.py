"""What gin ships for Ansible: the playbooks the Ansible transport runs, and the dynamic
inventory (``gin_inventory.py``, installed as the ``gin-inventory`` command).

They live inside the package, not beside it, so an installed wheel carries them: code finds
them with :func:`playbooks_dir`, never through a path relative to a checkout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def playbooks_dir() -> Path:
    """The folder of shipped playbooks, as a real path (ansible-runner is given file paths)."""
    return Path(str(resources.files(__name__) / "playbooks"))
