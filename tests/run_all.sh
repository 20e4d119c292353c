#!/usr/bin/env bash
# The README's test command: on a fresh Debian/Ubuntu machine (as root) it installs what the
# tests need — system packages, PostgreSQL, a virtual environment with the project and its
# test extra — starts what is not running, then runs lint, type checks, import contracts,
# the whole pytest suite (with a real PostgreSQL server and a headless Secret Service), and
# builds the wheel and smoke-tests it in a fresh virtual environment. Idempotent: on a machine
# that already has everything it only checks and runs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python3}
VENV=${AUTERITY_TEST_VENV:-$ROOT/.venv}
step() { printf '\n==> %s\n' "$*"; }

# --- 1. system packages ------------------------------------------------------------------
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed"; }
for pkg in dbus-daemon gnome-keyring libegl1 libgl1 libopengl0 libxkbcommon0 libfontconfig1 \
           libglib2.0-0 libdbus-1-3 fonts-dejavu-core; do
    have_pkg "$pkg" || need+=("$pkg")
done
command -v pg_ctlcluster >/dev/null || need+=(postgresql)
"$PYTHON" -m venv --help >/dev/null 2>&1 || need+=(python3-venv)
if ((${#need[@]})); then
    step "installing system packages: ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- 2. PostgreSQL: running, with a role the tests may create databases with ------------
pg_ready() { (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; }
if ! pg_ready; then
    step "starting PostgreSQL"
    if [ -z "$(pg_lsclusters -h 2>/dev/null)" ]; then
        pg_createcluster "$(ls /usr/lib/postgresql | sort -V | tail -n1)" main >/dev/null
    fi
    read -r version cluster _ < <(pg_lsclusters -h | head -n1)
    pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
    for _ in $(seq 1 30); do pg_ready && break; sleep 1; done
fi
pg_ready || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
psql_admin() {
    runuser -u postgres -- psql -v ON_ERROR_STOP=1 -qtAc "$1" 2>/dev/null \
        || psql -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres -d postgres -qtAc "$1"
}
if [ "$(psql_admin "SELECT 1 FROM pg_roles WHERE rolname = 'auterity_test'")" != "1" ]; then
    psql_admin "CREATE ROLE auterity_test LOGIN CREATEDB PASSWORD 'auterity_test'"
fi
export AUTERITY_TEST_POSTGRES_URL=postgresql://auterity_test:auterity_test@127.0.0.1:5432/postgres

# --- 3. Python environment ---------------------------------------------------------------
step "installing the project and its test extra into $VENV"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q -e ".[test]"
BIN=$VENV/bin

# --- 4. static checks --------------------------------------------------------------------
step "ruff"
"$BIN/ruff" check .
"$BIN/ruff" format --check .
step "import-linter"
"$BIN/lint-imports" --no-cache
step "mypy (core, services, config, platform)"
"$BIN/mypy"

# --- 5. the test suite, inside a D-Bus session with an unlocked Secret Service ---------
# Two pytest-xdist workers share the machine's two cores (each test on the PostgreSQL server
# has a database of its own; the one that restarts a server starts its own server). The
# PyInstaller bundle that tests/packaging runs is built meanwhile in the background: those
# tests are collected last and wait for it instead of building it themselves.
bundle=$(mktemp -d)
trap 'rm -rf "$bundle"' EXIT
(PYTHON="$BIN/python" DISTPATH="$bundle/dist" WORKPATH="$bundle/build" \
    bash packaging/build.sh >"$bundle/log" 2>&1; echo $? >"$bundle/rc") &
export AUTERITY_TEST_BUNDLE="$bundle"
step "pytest"
export QT_QPA_PLATFORM=offscreen
bash tests/keyring_session.sh "$BIN/python" -m pytest -q -p no:cacheprovider \
    -n 2 "$@"

# --- 6. the wheel installs into a fresh environment and runs ---------------------------
step "building the wheel and smoke-testing it in a fresh virtual environment"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch" "$bundle"' EXIT
"$BIN/python" -m pip wheel -q --no-deps -w "$scratch/dist" .
"$PYTHON" -m venv "$scratch/venv"
"$scratch/venv/bin/python" -m pip install -q "$scratch"/dist/*.whl
AUTERITY_DATA_DIR=$scratch/data AUTERITY_CONFIG_FILE=$scratch/settings.toml \
    "$scratch/venv/bin/auterity" --version
AUTERITY_DATA_DIR=$scratch/data AUTERITY_CONFIG_FILE=$scratch/settings.toml \
    "$scratch/venv/bin/auterity" config >/dev/null
echo "wheel OK: auterity --version and auterity config ran from a fresh virtual environment"
