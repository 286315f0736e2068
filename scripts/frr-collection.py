"""Install the frr.frr Ansible collection into DEST, taken from the ansible 10.7.0 wheel.

Current ``ansible`` (11+) dropped frr.frr; 10.7.0 was its last bundle, and frr.frr 2.0.2
works with ansible-core 2.19.  Only ``ansible_collections/frr/frr/`` is extracted.
Usage: python scripts/frr-collection.py WHEEL DEST
"""

import sys
import zipfile
from pathlib import PurePosixPath

PREFIX = "ansible_collections/frr/frr/"

wheel, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(wheel) as zf:
    names = [n for n in zf.namelist() if n.startswith(PREFIX)]
    if not names:
        sys.exit(f"{wheel}: no {PREFIX} inside")
    for name in names:
        if ".." in PurePosixPath(name).parts:
            sys.exit(f"{wheel}: refusing path {name}")
        zf.extract(name, dest)
print(f"frr.frr collection: {len(names)} files in {dest}")
