#!/usr/bin/env bash
# Builds the one-folder application with PyInstaller: dist/auterity/ holds the executable
# `auterity` and everything it needs — copy or archive the whole folder. On Linux the folder
# also gets the menu entry and install.sh (`dist/auterity/install.sh` puts the bundle into
# ~/.local and the application menu).
#   bash packaging/build.sh
# Environment: PYTHON (default .venv/bin/python, else python3) — the interpreter whose
# packages are bundled; DISTPATH (default dist) and WORKPATH (default build/pyinstaller) —
# where the result and PyInstaller's intermediate files go (relative to the repository).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
DISTPATH=${DISTPATH:-dist}
WORKPATH=${WORKPATH:-build/pyinstaller}

if ! "$PYTHON" -c "import PyInstaller" 2>/dev/null; then
    echo "installing PyInstaller into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
    "$PYTHON" -m pip install -q "pyinstaller>=6.10"
fi
# On Linux PyInstaller reads binaries with objdump (binutils) and bundles the interpreter's
# shared library (Debian's python3 ships it separately, as libpython3.X): install what is
# missing where we may (root with apt-get), else stop and say what to install.
apt_install() {
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        echo "build.sh: PyInstaller needs $1: install it" >&2
        exit 1
    fi
    echo "installing $1 (PyInstaller needs it)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "$1" >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends "$1" >/dev/null; }
}
if [ "$(uname -s)" = Linux ]; then
    command -v objdump >/dev/null || apt_install binutils
    if ! "$PYTHON" -c "from PyInstaller.depend.bindepend import get_python_library_path as f
assert f()" 2>/dev/null; then
        apt_install "libpython$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
    fi
fi

started=$(date +%s)
"$PYTHON" -m PyInstaller --noconfirm --clean --log-level WARN \
    --distpath "$DISTPATH" --workpath "$WORKPATH" packaging/auterity.spec
app=$DISTPATH/auterity
if [ "$(uname -s)" = Linux ]; then
    install -m 644 packaging/linux/auterity-desktop.desktop "$app/"
    install -m 755 packaging/linux/install.sh "$app/"
fi
elapsed=$(($(date +%s) - started))
echo "built $app/auterity in ${elapsed} s ($(du -sh "$app" | cut -f1))"
