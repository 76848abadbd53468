#!/usr/bin/env bash
# Throw-away PostgreSQL for tests: a fresh cluster in a temporary folder, listening on a free
# loopback port only (unix socket inside the temporary folder), trust authentication, no fsync.
#
#   scripts/pg-test.sh start           prints postgres://postgres@127.0.0.1:PORT/wardgate_test
#                                      (the data folder goes to stderr and to $STATE_FILE)
#   scripts/pg-test.sh stop [DIR]      stops the cluster in DIR (default: the last one started)
#                                      and removes DIR; fine to call twice
#   scripts/pg-test.sh run CMD ARGS..  start, run CMD with WARDGATE_TEST_PG_URL set, stop
#
# PostgreSQL refuses to run as root: as root the server runs as the `postgres` OS user.
# PG_BIN picks the binaries (default: the newest /usr/lib/postgresql/*/bin).
set -euo pipefail

STATE_FILE="${WARDGATE_PG_STATE:-/tmp/wardgate-pg-test.last}"

die() { echo "pg-test: $*" >&2; exit 1; }

pg_bin() {
    if [[ -n "${PG_BIN:-}" ]]; then echo "$PG_BIN"; return; fi
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [[ -n "$d" && -x "$d/initdb" ]]; then echo "$d"; return; fi
    d=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
    [[ -x "$d/initdb" ]] || die "PostgreSQL binaries not found (install postgresql or set PG_BIN)"
    echo "$d"
}

# Runs a command as the user that owns the cluster.
as_pg() {
    if [[ $(id -u) -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start() {
    local bin dir port tries=0
    bin=$(pg_bin)
    if [[ $(id -u) -eq 0 ]]; then
        id postgres >/dev/null 2>&1 || die "running as root needs the postgres OS user"
    fi
    dir=$(mktemp -d "${TMPDIR:-/tmp}/wardgate-pg.XXXXXX")
    chmod 700 "$dir"
    mkdir -p "$dir/sock"
    if [[ $(id -u) -eq 0 ]]; then chown -R postgres: "$dir"; fi

    as_pg "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-locale --no-sync \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed (log above)"; }

    while :; do
        tries=$((tries + 1))
        port=$((20000 + RANDOM % 40000))
        if port_in_use "$port"; then continue; fi
        if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 -s \
            -o "-c listen_addresses=127.0.0.1 -p $port -k $dir/sock -c fsync=off \
                -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >/dev/null 2>&1; then
            break
        fi
        # Lost a race for the port (or another failure): retry a few times, then give up.
        if ((tries >= 5)); then
            cat "$dir/server.log" >&2 || true
            rm -rf "$dir"
            die "PostgreSQL did not start (log above)"
        fi
    done

    echo "$port" >"$dir/port"
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres wardgate_test \
        || { stop "$dir"; die "createdb failed"; }
    local url="postgres://postgres@127.0.0.1:$port/wardgate_test"
    echo "$url" >"$dir/url"
    echo "$dir" >"$STATE_FILE"
    echo "pg-test: data folder $dir (stop with: $0 stop $dir)" >&2
    echo "$url"
}

stop() {
    local dir="${1:-}" bin
    if [[ -z "$dir" ]]; then
        [[ -f "$STATE_FILE" ]] || { echo "pg-test: nothing to stop" >&2; return 0; }
        dir=$(cat "$STATE_FILE")
    fi
    # Accept the data folder itself as well as the folder start made around it.
    if [[ "$(basename "$dir")" == data && -f "$dir/PG_VERSION" ]]; then dir=$(dirname "$dir"); fi
    if [[ ! -d "$dir" ]]; then
        echo "pg-test: $dir is gone already" >&2
    else
        [[ -f "$dir/data/PG_VERSION" || ! -d "$dir/data" ]] || die "$dir does not look like a pg-test folder"
        bin=$(pg_bin)
        if [[ -f "$dir/data/postmaster.pid" ]]; then
            as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 -s stop >/dev/null 2>&1 || true
        fi
        rm -rf "$dir"
    fi
    if [[ -f "$STATE_FILE" && "$(cat "$STATE_FILE")" == "$dir" ]]; then rm -f "$STATE_FILE"; fi
}

RUN_DIR=""
run() {
    [[ $# -gt 0 ]] || die "usage: $0 run CMD [ARGS...]"
    local url status=0
    url=$(start)
    RUN_DIR=$(dirname "$(grep -lxF "$url" /dev/null "${TMPDIR:-/tmp}"/wardgate-pg.*/url)")
    trap 'stop "$RUN_DIR"; exit 130' INT TERM
    WARDGATE_TEST_PG_URL="$url" "$@" || status=$?
    trap - INT TERM
    stop "$RUN_DIR"
    exit "$status"
}

case "${1:-}" in
    start) start ;;
    stop) shift; stop "${1:-}" ;;
    run) shift; run "$@" ;;
    *) echo "usage: $0 start | stop [DIR] | run CMD [ARGS...]" >&2; exit 2 ;;
esac
