#!/usr/bin/env bash
# Refresh the locks on purpose: resolve pyproject's ranges (all extras) to exact versions with
# hashes.  Review the diff, run scripts/test.sh, commit requirements/*.lock.
#   bash scripts/lock.sh            # newest versions the ranges allow
#   bash scripts/lock.sh -P NAME    # upgrade one package only (uv's --upgrade-package)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
tools=${GIN_LOCK_TOOLS:-/tmp/gin-lock-tools}
[ -x "$tools/bin/uv" ] || { python3 -m venv "$tools"; "$tools/bin/pip" install -q uv; }
upgrade=(); [ "${1:-}" = -P ] && upgrade=(--upgrade-package "$2") || upgrade=(--upgrade)
compile() { "$tools/bin/uv" pip compile --quiet --generate-hashes --python-version 3.11 \
    --python-platform x86_64-manylinux_2_28 --no-header --no-strip-extras "${upgrade[@]}" "$@"; }
compile pyproject.toml requirements/build.in --all-extras -o requirements/gin.lock
compile requirements/frr-collection.in --no-deps -o requirements/frr-collection.lock
echo "lock: requirements/gin.lock and requirements/frr-collection.lock refreshed"
