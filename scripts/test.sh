#!/usr/bin/env bash
# The README's test command: install everything, start a real PostgreSQL, run ruff and the
# whole test suite (unit + integration).  Integration tests need root and the Debian
# packages; set GIN_REQUIRE_INTEGRATION=1 (CI does) to make their skips failures.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
source scripts/pg.sh
trap pg_stop EXIT
if [ "$(id -u)" = 0 ] || [ -n "${GIN_REQUIRE_INTEGRATION:-}" ]; then pg_start; fi
ruff check .
python -m pytest -q -rs --durations=15 -n "${GIN_TEST_WORKERS:-3}" --dist loadscope "$@"
