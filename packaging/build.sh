#!/usr/bin/env bash
# Builds the one-folder application into dist/auterity/ with PyInstaller.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
PYTHON=${PYTHON:-.venv/bin/python}
"$PYTHON" -m pip install -q "pyinstaller>=6.10"
"$PYTHON" -m PyInstaller --noconfirm --clean --distpath dist --workpath build/pyinstaller \
    packaging/auterity.spec
echo "built: dist/auterity/auterity"
