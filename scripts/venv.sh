#!/usr/bin/env bash
# Creates .venv (if needed) and installs metalnet with its locked dependencies.
# Usage: scripts/venv.sh [runtime|dev]
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-runtime}
python3 -m venv .venv
lock=requirements.lock
[ "$profile" = dev ] && lock=requirements-dev.lock
stamp=.venv/.installed-$profile-$(sha256sum "$lock" pyproject.toml setup.py metalnet/boot/*.c | sha256sum | cut -c1-16)
if [ ! -e "$stamp" ]; then
  bash scripts/install-system-deps.sh build # the TFTP data phase is compiled
  .venv/bin/pip install -q --disable-pip-version-check -r "$lock"
  .venv/bin/pip install -q --disable-pip-version-check --no-deps -e .
  touch "$stamp"
fi
