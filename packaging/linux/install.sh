#!/usr/bin/env bash
# Puts Auterity Desktop into the application menu: the .desktop entry and the hicolor icons,
# for the current user (PREFIX ~/.local, the default) or system-wide (--prefix /usr/local,
# as root). With a bundle built by packaging/build.sh it also installs the bundle:
#
#   packaging/linux/install.sh --bundle dist/auterity   # copies it to PREFIX/lib/auterity-desktop,
#                                                       # links PREFIX/bin/auterity, menu entry
#   packaging/linux/install.sh                          # menu entry for a pip-installed `auterity`
#   packaging/linux/install.sh --uninstall [--prefix DIR]
#
# build.sh copies this script into the bundle, where it installs that bundle by default
# (`dist/auterity/install.sh`). Nothing outside PREFIX is touched.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
prefix=${PREFIX:-$HOME/.local}
bundle=""
uninstall=0
if [ -x "$here/auterity" ] && [ -d "$here/_internal" ]; then bundle=$here; fi

usage() { sed -n '2,12s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"; }
while [ $# -gt 0 ]; do
    case $1 in
        --prefix) prefix=${2:?--prefix needs a folder}; shift 2 ;;
        --bundle) bundle=$(cd "${2:?--bundle needs a folder}" && pwd); shift 2 ;;
        --uninstall) uninstall=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
done

name=auterity-desktop
apps=$prefix/share/applications
icons=$prefix/share/icons/hicolor
lib=$prefix/lib/$name
bin=$prefix/bin

refresh() {
    if command -v update-desktop-database >/dev/null; then
        update-desktop-database -q "$apps" 2>/dev/null || true
    fi
    if command -v gtk-update-icon-cache >/dev/null && [ -f "$icons/index.theme" ]; then
        gtk-update-icon-cache -q -f "$icons" 2>/dev/null || true
    fi
}

if [ "$uninstall" = 1 ]; then
    rm -f "$apps/$name.desktop"
    rm -f "$icons"/*/apps/"$name".png "$icons"/*/apps/"$name".svg
    if [ -L "$bin/auterity" ] && [ "$(readlink "$bin/auterity")" = "$lib/auterity" ]; then
        rm -f "$bin/auterity"
    fi
    rm -rf "$lib"
    refresh
    echo "removed Auterity Desktop from $prefix"
    exit 0
fi

# the entry and the icons: next to this script in a bundle, else from the repository
desktop=""
for candidate in "$here/$name.desktop" "$here/linux/$name.desktop"; do
    [ -f "$candidate" ] && desktop=$candidate && break
done
hicolor=""
for candidate in "${bundle:-/nonexistent}/_internal/auterity_desktop/resources/icons/hicolor" \
    "$here/../../resources/icons/hicolor"; do
    [ -d "$candidate" ] && hicolor=$candidate && break
done
[ -n "$desktop" ] || { echo "install.sh: $name.desktop not found next to $0" >&2; exit 1; }
[ -n "$hicolor" ] || { echo "install.sh: the hicolor icons were not found" >&2; exit 1; }

if [ -n "$bundle" ]; then
    [ -x "$bundle/auterity" ] || { echo "install.sh: $bundle/auterity is not a bundle" >&2; exit 1; }
    if [ "$bundle" != "$lib" ]; then
        rm -rf "$lib"
        mkdir -p "$(dirname "$lib")"
        cp -a "$bundle" "$lib"
    fi
    mkdir -p "$bin"
    ln -sfn "$lib/auterity" "$bin/auterity"
    program=$lib/auterity
else
    program=$(command -v auterity || true)
    if [ -z "$program" ]; then
        echo "install.sh: no \`auterity\` on PATH; the menu entry runs it once it is" >&2
        program=auterity
    fi
fi

# Exec gets the path in double quotes (it may contain spaces); the characters that would
# need escaping there are refused rather than escaped twice over.
case $program in
    *[\\\"\`\$]*) echo "install.sh: $program: a path with \\ \" \` or \$ cannot be used" >&2; exit 1 ;;
esac
mkdir -p "$apps"
while IFS= read -r line; do
    case $line in
        Exec=*) printf 'Exec="%s" gui\n' "$program" ;;
        TryExec=*) printf 'TryExec=%s\n' "$program" ;;
        *) printf '%s\n' "$line" ;;
    esac
done <"$desktop" >"$apps/$name.desktop"
chmod 644 "$apps/$name.desktop"
(cd "$hicolor" && find . -path "*/apps/$name.*" -type f) | while read -r icon; do
    install -D -m 644 "$hicolor/$icon" "$icons/$icon"
done
refresh
echo "installed $apps/$name.desktop (runs $program) and its icons into $icons"
