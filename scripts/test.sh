#!/usr/bin/env bash
# Installs everything the tests need (Debian and pip packages), then runs the
# linters, the type checker and the whole test suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-system-deps.sh
bash scripts/venv.sh dev
.venv/bin/ruff check metalnet tests bench
.venv/bin/mypy metalnet
.venv/bin/pytest -q -p no:cacheprovider "$@"
