#!/usr/bin/env bash
# Install everything gin needs on a Debian machine: the Debian packages listed in
# deps/apt-*.txt (when run as root) and a virtualenv in .venv with gin and its extras.
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again (it skips what is there).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
VENV=${GIN_VENV:-$ROOT/.venv}

apt_packages() { grep -hv '^\s*#' deps/apt-*.txt | awk 'NF{print $1}' | sort -u; }

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    missing=()
    for p in $(apt_packages); do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "setup: installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
else
    echo "setup: not root (or no apt-get): skipping Debian packages; the lab and integration tests need them"
fi

if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
# Every Python dependency comes from the lock (exact versions, hashes checked); refresh it on
# purpose with scripts/lock.sh.  gin itself is installed editable on top, without dependencies.
stamp="$VENV/.gin-installed"
if [ ! -f "$stamp" ] || [ requirements/gin.lock -nt "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    echo "setup: installing gin into $VENV (from requirements/gin.lock)"
    if ! { "$VENV/bin/pip" install -q --require-hashes -r requirements/gin.lock \
           && "$VENV/bin/pip" install -q --no-deps --no-build-isolation -e . ; } >"$VENV/pip.log" 2>&1; then
        grep -v "^WARNING: Location" "$VENV/pip.log" | tail -n 40
        echo "setup: pip install failed (full log: $VENV/pip.log)"
        exit 1
    fi
    touch "$stamp"
fi
collections="$VENV/share/gin/collections"
if [ ! -d "$collections/ansible_collections/frr/frr" ]; then
    # frr.frr left the ansible bundle in 11: take it from the locked ansible 10.7.0 wheel.
    tmp=$(mktemp -d)
    "$VENV/bin/pip" download -q --no-deps --require-hashes -r requirements/frr-collection.lock \
        -d "$tmp" >"$tmp/log" 2>&1 \
        || { grep -v "^WARNING: Location" "$tmp/log"; echo "setup: cannot fetch frr.frr"; exit 1; }
    "$VENV/bin/python" scripts/frr-collection.py "$tmp"/ansible-10.7.0-*.whl "$collections"
    rm -rf "$tmp"
fi
export PATH="$VENV/bin:$PATH"
