#!/usr/bin/env bash
# Not part of CI: install the newest versions pyproject's ranges allow (ignoring the lock) in a
# scratch venv and run the unit tests, so a breaking upstream release is found on purpose.
# When it passes, `bash scripts/lock.sh` adopts those versions; when it fails, fix gin or cap
# the range in pyproject.toml (with the reason), then refresh the lock.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=${GIN_LATEST_VENV:-$(mktemp -d /tmp/gin-latest.XXXXXX)}
python3 -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
"$venv/bin/pip" install -q --upgrade ".[test,postgres,net]" >"$venv/pip.log" 2>&1 \
    || { grep -v "^WARNING: Location" "$venv/pip.log"; exit 1; }
# What differs from the lock (< locked, > newest):
norm() { sed 's/\[[^]]*\]//; s/ .*//' | tr 'A-Z_' 'a-z-' | sort; }
diff <(grep -E '^[A-Za-z0-9_.-]+(\[[^]]*\])?==' requirements/gin.lock | norm) \
     <("$venv/bin/pip" freeze --exclude gin | norm) | grep '^[<>]' \
    || echo "check-latest: the lock already has the newest versions"
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit
