#!/usr/bin/env bash
# Sets up metalnet and runs `metalnet serve` on the embedded SQLite default.
# Extra arguments go to `metalnet serve` (for example --interface PHYSNET:IFACE).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh runtime
exec .venv/bin/metalnet serve "$@"
