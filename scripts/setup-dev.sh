#!/usr/bin/env bash
# Create the project's virtual environment (.venv) and the SAM CLI's own (.tools/sam).
# Idempotent: a second run only installs what is missing. Package indexes come from the
# machine's pip configuration, so corporate mirrors work unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "==> creating .venv (Python deps: about 1 minute)"
    "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e ".[test,deploy]"

# aws-sam-cli pins many libraries of its own: it lives in a separate venv so that it can never
# change the versions the tile server is tested with.
if [ ! -x .tools/sam/bin/sam ]; then
    echo "==> installing aws-sam-cli into .tools/sam (about 1 minute)"
    "$PYTHON" -m venv .tools/sam
    .tools/sam/bin/python -m pip install -q --upgrade pip >/dev/null
    .tools/sam/bin/python -m pip install -q "aws-sam-cli>=1.160"
fi
echo "==> Python environments ready: .venv, .tools/sam"
