#!/usr/bin/env bash
# The main job: set up, then run gapbench on its embedded default suite (offline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh all
exec .venv/bin/gapbench "$@"
