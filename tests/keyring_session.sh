#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked GNOME Keyring (Secret
# Service), so keyring-backed tests use a real OS keyring headless. The keyring lives in a
# throw-away folder: the user's own keyrings are never touched.
#   bash tests/keyring_session.sh .venv/bin/python -m pytest -q
set -euo pipefail
exec dbus-run-session -- bash -c '
    keyrings=$(mktemp -d)
    trap "rm -rf \"$keyrings\"" EXIT
    echo -n auterity-test | XDG_DATA_HOME=$keyrings \
        gnome-keyring-daemon --unlock --components=secrets >/dev/null
    "$@"
' keyring-session "$@" 2> >(grep -v -e "Failed to set fd limit" -e "SystemPrompter" >&2)
