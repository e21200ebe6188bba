#!/usr/bin/env bash
# The whole test suite: set up the venv and a local PostgreSQL (127.0.0.1 only), run pytest, and
# stop the PostgreSQL server again if this script started it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh test
started_pg=0
if ! bash scripts/postgres.sh status >/dev/null 2>&1; then
  started_pg=1
fi
# PostgreSQL for the store tests; only `export ...` lines reach stdout. A failed setup stops here.
pg_env="$(bash scripts/postgres.sh start)"
eval "$pg_env"   # GAPBENCH_TEST_PG_URL, GAPBENCH_PG_DIR, GAPBENCH_PG_PORT
if [ "$started_pg" = 1 ]; then
  trap 'bash scripts/postgres.sh stop >/dev/null 2>&1 || true' EXIT
fi
set +e
.venv/bin/python -m pytest -n 2 -p no:cacheprovider "$@"
rc=$?
set -e
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests" >&2
  rc=0
fi
exit "$rc"
