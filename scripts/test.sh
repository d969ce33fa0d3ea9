#!/usr/bin/env bash
# The project's test command: environments, lint, types, then every test (end-to-end included).
# Usage: bash scripts/test.sh [pytest args...]   e.g. -m "not e2e" for the fast suite only.
set -euo pipefail
cd "$(dirname "$0")/.."
export SAM_CLI_TELEMETRY=0

bash scripts/system-deps.sh
bash scripts/setup-dev.sh

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy"
.venv/bin/mypy
echo "==> pytest"
.venv/bin/pytest "$@"
