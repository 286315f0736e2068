"""Import and export of the whole directory: the one place callers need to know.

- :func:`import_files` reads CSV/JSON/YAML files (or an export folder) into the directory in
  one transaction, all-or-nothing unless ``partial`` (see :mod:`directory.importer` for the
  modes ``create``/``upsert``/``skip`` and :mod:`directory.readers` for what hostile input
  is refused and how);
- :func:`export_directory` writes the directory in the same layout (see
  :mod:`directory.exporter`), so export -> import -> export is the identity.
"""

from __future__ import annotations

import os
from typing import Any

from .exporter import export_data, to_csv, to_json, to_yaml, write_export
from .importer import FIELDS, KEYS, MODES, ImportReport, import_files, import_rows, read_files
from .readers import DEFAULT_MAX_BYTES, FORMATS, KINDS
from .store import Directory

__all__ = [
    "DEFAULT_MAX_BYTES", "FIELDS", "FORMATS", "KEYS", "KINDS", "MODES", "ImportReport",
    "export_data", "export_directory", "import_files", "import_rows", "read_files", "to_csv",
    "to_json", "to_yaml", "write_export",
]


def export_directory(directory: Directory, fmt: str = "json",
                     dest: str | os.PathLike[str] | None = None) -> list[str]:
    """Export everything to ``dest`` (a file; a folder for CSV; None = stdout)."""
    with directory.transaction() as session:
        data: dict[str, Any] = export_data(session)
    return write_export(data, fmt, dest)
