#!/usr/bin/env bash
# Provision what the test suite needs on this machine, idempotently (`make services`):
#   - PostgreSQL (Debian's package) with a trust-auth cluster on 127.0.0.1:5432 and a `test`
#     database, as CALLPAD_TEST_DATABASE_URL expects;
#   - Redis (Debian's package) on 127.0.0.1:6379, for Centrifugo's Redis engine;
#   - Centrifugo, livekit-server and LiveKit's SIP service (livekit-sip) built from their Go
#     modules into .tools/bin, at the versions pinned in scripts/versions.env (cached per
#     version, rebuilt only when a pin changes). The tests start them themselves, on free
#     ports, and stop them;
#   - sipp (Debian's sip-tester), the far end of the phone-leg tests.
# Without root or apt-get (a laptop) it provisions what it can and says what it skipped; the
# tests that need a missing server then skip with a reason (they fail under CI=true).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=versions.env
source scripts/versions.env

PG_PORT=5432
PG_DATA="${CALLPAD_PGDATA:-/var/lib/callpad-test/postgres}"
REDIS_PORT=6379
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/callpad/bin"
BIN=.tools/bin

say() { printf 'services: %s\n' "$*"; }

apt_updated=""
apt_install() {  # apt_install PACKAGE...: install Debian packages when we are root with apt-get
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        say "cannot install $* (needs root and apt-get); skipping"
        return 1
    fi
    if [ -z "$apt_updated" ]; then
        apt-get update -qq >/dev/null
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

pg_bindir() {
    local dir
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/pg_ctl" ] && { echo "$dir"; return 0; }
    done
    return 1
}

postgres() {
    if pg_isready -q -h 127.0.0.1 -p "$PG_PORT" 2>/dev/null; then
        say "PostgreSQL already answers on 127.0.0.1:$PG_PORT"
    else
        pg_bindir >/dev/null || apt_install postgresql || return 0
        local bin
        bin=$(pg_bindir)
        if [ "$(id -u)" = 0 ]; then
            as_pg() { runuser -u postgres -- "$@"; }
        else
            as_pg() { "$@"; }
        fi
        if [ ! -f "$PG_DATA/PG_VERSION" ]; then
            mkdir -p "$PG_DATA"
            [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG_DATA"
            as_pg "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 \
                --locale=C.UTF-8 >/dev/null
        fi
        # Test-only durability settings: the suite makes and drops many databases.
        as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w start -o \
            "-c listen_addresses=127.0.0.1 -p $PG_PORT -c max_connections=300 -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -k /tmp" >/dev/null
        say "PostgreSQL started on 127.0.0.1:$PG_PORT (data in $PG_DATA)"
    fi
    psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'test'" \
        | grep -q 1 || psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE test"
}

redis() {
    if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
        say "Redis already answers on 127.0.0.1:$REDIS_PORT"
        return 0
    fi
    command -v redis-server >/dev/null || apt_install redis-server || return 0
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --save '' \
        --appendonly no --logfile /tmp/callpad-test-redis.log
    for _ in $(seq 50); do
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break
        sleep 0.1
    done
    say "Redis started on 127.0.0.1:$REDIS_PORT"
}

# go_build NAME MODULE PACKAGE VERSION: build PACKAGE of MODULE@VERSION into the cache once,
# then link it as .tools/bin/NAME. A module whose go.mod has replace directives cannot be
# `go install`ed, so it is built inside a throwaway wrapper module that repeats them.
go_build() {
    local name=$1 module=$2 package=$3 version=$4
    local cached="$CACHE/$name-$version"
    mkdir -p "$BIN" "$CACHE"
    if [ ! -x "$cached" ]; then
        if ! command -v go >/dev/null; then
            say "no Go toolchain: $name not built; tests that need it skip (fail under CI)"
            return 0
        fi
        say "building $name $version (once per version)"
        local work
        work=$(mktemp -d)
        local gomod
        if ! gomod=$(cd "$work" && GOFLAGS=-mod=mod go mod download -json "$module@$version" \
            | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p') || [ -z "$gomod" ]; then
            rm -rf "$work"
            say "$module@$version is not available from the module proxy: $name not built"
            return 0
        fi
        {
            printf 'module callpad.local/build-%s\n\ngo 1.26\n\nrequire %s %s\n' \
                "$name" "$module" "$version"
            grep '^replace' "$gomod" || true
        } >"$work/go.mod"
        if ! (cd "$work" && GOFLAGS=-mod=mod go build -trimpath -o "$cached.tmp" "$package"); then
            rm -rf "$work"
            say "$name $version did not build; tests that need it skip (fail under CI)"
            return 0
        fi
        mv "$cached.tmp" "$cached"
        rm -rf "$work"
    fi
    ln -sf "$cached" "$BIN/$name"
    say "$name $version at $BIN/$name"
}

postgres
redis
go_build centrifugo "$CENTRIFUGO_MODULE" "$CENTRIFUGO_MODULE" "$CENTRIFUGO_VERSION"
go_build livekit-server "$LIVEKIT_MODULE" "$LIVEKIT_MODULE/cmd/server" "$LIVEKIT_VERSION"
# livekit-sip links libopus, libopusfile and libsoxr through cgo.
for dev in libopus-dev libopusfile-dev libsoxr-dev pkg-config; do
    dpkg -s "$dev" >/dev/null 2>&1 || apt_install "$dev" || true
done
go_build livekit-sip "$LIVEKIT_SIP_MODULE" "$LIVEKIT_SIP_MODULE/cmd/livekit-sip" "$LIVEKIT_SIP_VERSION"
command -v sipp >/dev/null || apt_install sip-tester || true
