#!/usr/bin/env bash
# Create the reference TiTiler used by benchmarks/compare_titiler.py: a virtual environment at
# .tools/titiler-ref (gitignored) with titiler.application 2.4.0 and uvicorn to serve it.
# Idempotent: does nothing when the venv already imports the right version.
# pip uses the machine's own configuration (index, proxy, certificates).
# Run the venv with `python -P` (or outside the project root): ./titiler would shadow the
# reference titiler namespace package.
#
# Usage: benchmarks/setup_titiler_ref.sh [--force]
#
# Environment:
#   PYTHON        interpreter to build the venv with (default python3.11, else python3)
#   TITILER_REF   version of titiler.application (default 2.4.0)
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.tools/titiler-ref
VERSION=${TITILER_REF:-2.4.0}
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}

if [ "${1:-}" = "--force" ]; then
    rm -rf "$VENV"
fi

check() {
    "$VENV/bin/python" -P - "$VERSION" <<'PY' >/dev/null 2>&1
import sys
from importlib.metadata import version

import titiler.application.main  # noqa: F401
import uvicorn  # noqa: F401

sys.exit(version("titiler.application") != sys.argv[1])
PY
}

if [ -x "$VENV/bin/python" ] && check; then
    echo "==> $VENV: titiler.application $VERSION already installed"
    exit 0
fi

echo "==> creating $VENV with $PYTHON"
mkdir -p .tools
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q "titiler.application==$VERSION" uvicorn
check || { echo "error: $VENV does not import titiler.application $VERSION" >&2; exit 1; }
echo "==> $VENV: titiler.application $VERSION ready"
