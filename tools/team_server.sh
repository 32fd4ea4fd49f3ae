#!/usr/bin/env bash
# The team's MLflow tracking server (docs/team-server.md): PostgreSQL for runs, the registry and
# the logins, a folder for artifacts (served through the server: clients need no storage keys),
# MLflow's basic-auth app in front. Everything lives in one state folder.
#
#   tools/team_server.sh [start] [STATE]   first start: set MLFLOW_AUTH_ADMIN_PASSWORD
#   tools/team_server.sh stop [STATE]      stops the database (Ctrl-C stops both when in front)
#
# STATE defaults to ./team-server. Settings: TEAM_SERVER_HOST (127.0.0.1), TEAM_SERVER_PORT (5005),
# TEAM_SERVER_WORKERS (2), TEAM_DB_PORT (5433), TEAM_DB_DIR (the cluster; STATE/postgres).
# As root, PostgreSQL runs as the `postgres` user (initdb refuses root), so TEAM_DB_DIR's parent
# must be one it can enter.
set -euo pipefail

action=${1:-start}
state=$(realpath -m "${2:-team-server}")
host=${TEAM_SERVER_HOST:-127.0.0.1}
port=${TEAM_SERVER_PORT:-5005}
workers=${TEAM_SERVER_WORKERS:-2}
db_port=${TEAM_DB_PORT:-5433}
pgdata=$(realpath -m "${TEAM_DB_DIR:-$state/postgres}")
venv_bin=$(realpath -m "$(dirname "$0")/../.venv/bin")

say() { echo "team_server: $*" >&2; }
die() { say "$*"; exit 1; }
random_secret() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }

pg_bin=$(find /usr/lib/postgresql -path '*/bin/initdb' 2>/dev/null | sort -V | tail -1 | xargs -r dirname)
[ -n "$pg_bin" ] || die "PostgreSQL is not installed (Debian: apt-get install -y postgresql)."

# PostgreSQL's own tools run as the cluster's owner: `postgres` when this runs as root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
pg_ctl() { as_owner "$pg_bin/pg_ctl" -D "$pgdata" "$@"; }

case "$action" in
stop)
    pg_ctl status >/dev/null 2>&1 && pg_ctl stop -m fast -w
    exit 0
    ;;
start) ;;
*) die "usage: tools/team_server.sh [start|stop] [STATE]" ;;
esac

mkdir -p "$state/artifacts"
if [ ! -f "$pgdata/PG_VERSION" ]; then
    admin_password=${MLFLOW_AUTH_ADMIN_PASSWORD:-}
    [ "${#admin_password}" -ge 12 ] \
        || die "the first start creates the login 'admin': set MLFLOW_AUTH_ADMIN_PASSWORD (12 characters or more)."
    say "a new PostgreSQL cluster in $pgdata"
    mkdir -p "$pgdata"
    if [ "$(id -u)" = 0 ]; then
        chown postgres: "$pgdata"
        runuser -u postgres -- test -x "$(dirname "$pgdata")" \
            || die "the postgres user cannot enter $(dirname "$pgdata"); set TEAM_DB_DIR."
    fi
    # The socket lies in the cluster's own folder (only its owner may enter it): trusted there;
    # over TCP every login needs its password.
    as_owner "$pg_bin/initdb" -D "$pgdata" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 >"$state/initdb.log"
    # libpq reads the database password from pgpass: it is never on a command line or in a URL.
    # The key signs the login page's CSRF tokens: the same for every worker and restart.
    (
        umask 077
        echo "127.0.0.1:$db_port:*:mlflow:$(random_secret)" >"$state/pgpass"
        random_secret >"$state/flask-secret-key"
    )
    cat >"$state/basic_auth.ini" <<INI
[mlflow]
# Every login may log runs and register versions (a team shares one registry); the admin
# manages the logins and permissions (docs/team-server.md).
default_permission = EDIT
database_uri = postgresql://mlflow@127.0.0.1:$db_port/mlflow_auth
admin_username = admin
authorization_function = mlflow.server.auth:authenticate_request_basic_auth
# A login's password hash is checked once a minute per worker, not on every request (~0.4 s
# each here; a run makes hundreds). The price: a changed password or a removed login may
# still work on another worker for up to 60 s.
auth_cache_ttl_seconds = 60
INI
    new_cluster=1
fi

# Port and socket on the command line: the state folder can move or change port.
pg_ctl -l "$pgdata/postgres.log" -w -o "-c listen_addresses=127.0.0.1 -p $db_port -k $pgdata" start \
    >/dev/null || die "PostgreSQL did not start; see $pgdata/postgres.log."
if [ -n "${new_cluster:-}" ]; then
    as_owner "$pg_bin/psql" -h "$pgdata" -p "$db_port" -U postgres -d postgres -q \
        -v ON_ERROR_STOP=1 <<SQL
CREATE ROLE mlflow LOGIN PASSWORD '$(cut -d: -f5 "$state/pgpass")';
CREATE DATABASE mlflow OWNER mlflow;
CREATE DATABASE mlflow_auth OWNER mlflow;
SQL
fi

export PGPASSFILE="$state/pgpass" MLFLOW_AUTH_CONFIG_PATH="$state/basic_auth.ini"
MLFLOW_FLASK_SERVER_SECRET_KEY=$(cat "$state/flask-secret-key")
export MLFLOW_FLASK_SERVER_SECRET_KEY
export PATH="$venv_bin:$PATH" # mlflow starts uvicorn by name
say "MLflow on http://$host:$port (PostgreSQL on 127.0.0.1:$db_port, artifacts in $state/artifacts)"
mlflow server \
    --backend-store-uri "postgresql://mlflow@127.0.0.1:$db_port/mlflow" \
    --artifacts-destination "$state/artifacts" --serve-artifacts \
    --app-name basic-auth --host "$host" --port "$port" --workers "$workers" &
server=$!
# Ctrl-C or a TERM stops the server (uvicorn and its workers) and then the database.
stop_all() {
    pkill -TERM -P "$server" 2>/dev/null || true
    kill -TERM "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    pg_ctl stop -m fast -w >/dev/null || true
}
trap stop_all EXIT
trap 'exit 130' INT TERM
wait "$server"
