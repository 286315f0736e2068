#!/usr/bin/env bash
# Start a throw-away PostgreSQL server for the tests (own data dir, loopback, random port)
# and export GIN_TEST_PG_URL.  Source it; call pg_stop at exit.
pg_start() {
    local bindir
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
    if [ -z "$bindir" ]; then
        echo "pg: PostgreSQL is not installed (apt-get install postgresql)"; return 1
    fi
    PG_DIR=$(mktemp -d /tmp/gin-pg.XXXXXX)
    chown postgres:postgres "$PG_DIR" 2>/dev/null || true
    local as=(); [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
    PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "${as[@]}" "$bindir/initdb" -D "$PG_DIR/data" -U gin --auth=trust -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1
    "${as[@]}" "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
    export GIN_TEST_PG_URL="postgresql+psycopg://gin@127.0.0.1:$PG_PORT/postgres"
    export PG_BINDIR=$bindir PG_DIR
    echo "pg: PostgreSQL running on 127.0.0.1:$PG_PORT ($PG_DIR)"
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    local as=(); [ "$(id -u)" = 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$PG_BINDIR/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
}
