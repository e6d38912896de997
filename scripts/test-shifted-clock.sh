#!/usr/bin/env bash
# Runs test suites with the clock moved forward, to prove no test depends on the month it runs
# in: `bash scripts/test-shifted-clock.sh <days> [vitest args...]`.
#
# Both sides of the clock move together: a throwaway PostgreSQL 15 cluster (its own port and
# folder, never the shared server) runs under libfaketime with the same offset as the test
# process, so now(), CURRENT_DATE and new Date() agree. Monotonic clocks stay real
# (FAKETIME_DONT_FAKE_MONOTONIC) so timers and timeouts behave. Needs Debian's `faketime`.
set -euo pipefail
cd "$(dirname "$0")/.."

days=${1:?usage: test-shifted-clock.sh <days> [vitest args...]}
shift
case "$days" in '' | *[!0-9]*) echo "days must be a whole number: $days" >&2; exit 2 ;; esac

lib=$(ls /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null | head -n 1 || true)
if [ -z "$lib" ]; then
  echo "libfaketime not found: apt-get install -y faketime" >&2
  exit 2
fi
bin=$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)
[ -n "$bin" ] || { echo "PostgreSQL 15 binaries not found" >&2; exit 2; }

port=${SHIFTED_PG_PORT:-$((5500 + days % 400))}
dir=$(mktemp -d /tmp/bs-shifted-pg.XXXXXX)
# PostgreSQL refuses to run as root: the cluster belongs to the postgres OS user when we are root.
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
export FAKETIME="+${days}d" FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_NO_CACHE=1

cleanup() {
  "${as_pg[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT

"${as_pg[@]}" "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
"${as_pg[@]}" env LD_PRELOAD="$lib" FAKETIME="$FAKETIME" FAKETIME_DONT_FAKE_MONOTONIC=1 \
  "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null ||
  { cat "$dir/server.log" >&2; exit 1; }

db_now=$(psql -h 127.0.0.1 -p "$port" -U postgres -Atc 'SELECT CURRENT_DATE')
node_now=$(LD_PRELOAD="$lib" node -e 'console.log(new Date().toISOString().slice(0, 10))')
echo "shifted clock +${days}d: PostgreSQL says $db_now, Node says $node_now"
[ "$db_now" = "$node_now" ] || echo "warning: the two clocks disagree (a day boundary passed?)" >&2

TEST_DATABASE_ADMIN_URL="postgresql://postgres@127.0.0.1:${port}/postgres" \
  LD_PRELOAD="$lib" npx vitest run "$@"
