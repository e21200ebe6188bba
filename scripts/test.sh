#!/usr/bin/env bash
# The whole test suite: set up the venv and a local PostgreSQL (127.0.0.1 only), then pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
eval "$(bash scripts/postgres.sh)"   # exports GAPBENCH_TEST_PG_URL
set +e
.venv/bin/python -m pytest -n 2 -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  rc=0
fi
exit "$rc"
