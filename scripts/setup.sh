#!/usr/bin/env bash
# Idempotent setup shared by `make demo` and `make test`: a virtualenv in .venv with gapbench
# installed (editable) and the extras the caller needs. Re-runs only when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-all}
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.gapbench-$extras
want=$(cat pyproject.toml scripts/setup.sh | sha256sum | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setting up .venv (gapbench[$extras]) ..." >&2
  .venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip 2>&1 | grep -v '^WARNING: Location' >&2 || true
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extras]" 2>&1 | grep -v '^WARNING: Location' >&2 || true
  if [ "$extras" = test ]; then
    # The reference for the whisper normaliser tests; --no-deps keeps torch out (it is never imported).
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "openai-whisper==20250625" 2>&1 | grep -v '^WARNING: Location' >&2 || true
    # The reference for the ImageNet-C corruption tests (shimmed in tests/shifts/imagec_reference.py).
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "imagecorruptions==1.1.2" 2>&1 | grep -v '^WARNING: Location' >&2 || true
  fi
  .venv/bin/python -c "import gapbench.cli" # fail loudly if the install did not work
  echo "$want" > "$stamp"
fi
