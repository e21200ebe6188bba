#!/usr/bin/env bash
# A throwaway PostgreSQL server for gapbench's store tests and CI, bound to 127.0.0.1 only.
#
#   PG_ENV="$(bash scripts/postgres.sh start)" || exit 1   # idempotent; prints export lines
#   eval "$PG_ENV"                                         # -> GAPBENCH_TEST_PG_URL, GAPBENCH_PG_DIR
#   ... pytest ...
#   bash scripts/postgres.sh stop                          # optional; same env as start
#
# Commands: start (default) | stop | status | url.  Only the export lines go to stdout; all
# progress and errors go to stderr, so the output is safe to eval.
#
# Settings (environment):
#   GAPBENCH_PG_DIR     cluster directory (default /tmp/gapbench-pg-$GAPBENCH_PG_PORT); must be
#                       reachable by the server user, so keep it out of /root
#   GAPBENCH_PG_PORT    TCP port on 127.0.0.1 (default 54329)
#   GAPBENCH_PG_DB      database to create (default gapbench_test)
#   GAPBENCH_PG_INSTALL 1 (default): as root, apt-get install postgresql when no server binaries
#                       are found; 0: exit 3 instead (the test fixture uses this)
#
# The cluster is created with initdb (as the `postgres` user when run as root, since the server
# refuses to run as root), trust authentication, fsync off: it is for tests, never for data.
# Exit codes: 0 ok, 3 no PostgreSQL binaries (and not installing), 1 anything else.
set -euo pipefail

CMD="${1:-start}"
PORT="${GAPBENCH_PG_PORT:-54329}"
DIR="${GAPBENCH_PG_DIR:-/tmp/gapbench-pg-$PORT}"
DB="${GAPBENCH_PG_DB:-gapbench_test}"
INSTALL="${GAPBENCH_PG_INSTALL:-1}"
SUPERUSER=postgres

log() { printf 'postgres.sh: %s\n' "$*" >&2; }
die() { log "error: $1"; exit "${2:-1}"; }

find_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d="$(pg_config --bindir 2>/dev/null || true)"
        if [[ -n "$d" && -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    fi
    # Debian/Ubuntu: /usr/lib/postgresql/<major>/bin, newest first
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    done
    for d in /usr/pgsql-*/bin /usr/local/pgsql/bin /opt/homebrew/bin /usr/local/bin /usr/bin; do
        if [[ -x "$d/initdb" && -x "$d/pg_ctl" ]]; then echo "$d"; return 0; fi
    done
    return 1
}

install_postgres() {
    [[ "$(id -u)" == 0 ]] || die "no PostgreSQL binaries found; install the 'postgresql' package (needs root)" 3
    command -v apt-get >/dev/null 2>&1 || die "no PostgreSQL binaries found and no apt-get to install them" 3
    log "installing Debian's postgresql (apt-get) ..."
    # We run our own cluster: ask postgresql-common not to create and start the 'main' one
    # (its createcluster.conf includes createcluster.d/, so no conffile is touched).
    mkdir -p /etc/postgresql-common/createcluster.d
    echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.d/gapbench-no-main.conf
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2 || die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confold \
        postgresql >&2 || die "apt-get install postgresql failed"
    # Should a 'main' cluster have been created and started anyway, stop it: it would listen
    # on localhost (::1 too) and we only want our own server on 127.0.0.1.
    if command -v pg_lsclusters >/dev/null 2>&1; then
        pg_lsclusters -h 2>/dev/null | while read -r ver name _port status _rest; do
            if [[ "$status" == online* ]]; then
                log "stopping the Debian cluster $ver/$name the package started"
                pg_ctlcluster "$ver" "$name" stop >&2 || true
            fi
        done
    fi
}

# run a command as the cluster owner (root cannot run the server)
as_owner() {
    if [[ "$(id -u)" == 0 ]]; then
        if command -v runuser >/dev/null 2>&1; then
            runuser -u "$OWNER" -- "$@"
        else
            su -s /bin/sh "$OWNER" -c "$(printf '%q ' "$@")"
        fi
    else
        "$@"
    fi
}

tool() {  # a client tool next to the server binaries, else on PATH
    if [[ -x "$BIN/$1" ]]; then echo "$BIN/$1"; else command -v "$1" || die "$1 not found"; fi
}
ready() { "$(tool pg_isready)" -q -h 127.0.0.1 -p "$PORT" -t 2 >/dev/null 2>&1; }
url() { echo "postgresql://$SUPERUSER@127.0.0.1:$PORT/$DB"; }
psql_() { "$(tool psql)" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$SUPERUSER" "$@"; }

print_env() {
    echo "export GAPBENCH_TEST_PG_URL='$(url)'"
    echo "export GAPBENCH_PG_DIR='$DIR'"
    echo "export GAPBENCH_PG_PORT='$PORT'"
}

if ! BIN="$(find_bindir)"; then
    case "$CMD" in
        start)
            [[ "$INSTALL" == 1 ]] || die "no PostgreSQL binaries (initdb, pg_ctl) found" 3
            install_postgres
            BIN="$(find_bindir)" || die "postgresql installed but initdb/pg_ctl not found"
            ;;
        url) url; exit 0 ;;
        *) die "no PostgreSQL binaries (initdb, pg_ctl) found" 3 ;;
    esac
fi

if [[ "$(id -u)" == 0 ]]; then
    OWNER=postgres
    if ! id -u "$OWNER" >/dev/null 2>&1; then
        log "creating system user $OWNER"
        useradd --system --no-create-home --shell /usr/sbin/nologin "$OWNER" \
            || die "cannot create user $OWNER"
    fi
else
    OWNER="$(id -un)"
fi
DATA="$DIR/data"
SOCK="$DIR/sock"

case "$CMD" in
    url) url; exit 0 ;;
    status)
        if [[ -f "$DATA/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
            log "running: $(url)"; exit 0
        fi
        log "not running ($DATA)"; exit 1 ;;
    stop)
        if [[ -f "$DATA/PG_VERSION" ]] && as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
            as_owner "$BIN/pg_ctl" -D "$DATA" -m fast -w -t 30 stop >&2 || die "pg_ctl stop failed"
            log "stopped ($DATA)"
        else
            log "not running ($DATA)"
        fi
        exit 0 ;;
    start) ;;
    *) die "unknown command '$CMD' (start|stop|status|url)" ;;
esac

mkdir -p "$DIR"
if [[ "$(id -u)" == 0 ]]; then
    chown "$OWNER" "$DIR"
    chmod 0755 "$DIR"
fi
as_owner test -w "$DIR" || die "$DIR is not writable by $OWNER (choose GAPBENCH_PG_DIR outside /root)"
as_owner mkdir -p "$SOCK"

if [[ ! -f "$DATA/PG_VERSION" ]]; then
    log "initdb $DATA ($("$BIN/postgres" --version 2>/dev/null || echo postgres))"
    as_owner "$BIN/initdb" -D "$DATA" -U "$SUPERUSER" -A trust -E UTF8 --locale=C --no-sync \
        >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; die "initdb failed"; }
fi

if as_owner "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1; then
    ready || die "a server runs on $DATA but does not answer on 127.0.0.1:$PORT (other port?)"
    log "already running on 127.0.0.1:$PORT"
else
    if ready; then
        die "port $PORT on 127.0.0.1 is taken by another server; set GAPBENCH_PG_PORT"
    fi
    log "starting on 127.0.0.1:$PORT ($DATA)"
    as_owner "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $PORT -k $SOCK -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2 || { tail -n 20 "$DIR/server.log" >&2 || true; die "pg_ctl start failed"; }
fi

for _ in $(seq 1 60); do ready && break; sleep 0.5; done
ready || die "server did not become ready on 127.0.0.1:$PORT"

if [[ "$(psql_ -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" != 1 ]]; then
    psql_ -d postgres -c "CREATE DATABASE \"$DB\"" >&2 || die "cannot create database $DB"
    log "created database $DB"
fi

print_env
log "ready: $(url)"
