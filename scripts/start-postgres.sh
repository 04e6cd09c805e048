#!/usr/bin/env bash
# Start a private, throw-away PostgreSQL on 127.0.0.1:54329 (trust auth) for the test suite,
# installing Debian's package when needed. Prints the SQLAlchemy URL of its postgres database.
set -euo pipefail
port=54329
root=/tmp/pecflow-test-postgres
url="postgresql+psycopg://postgres@127.0.0.1:${port}/postgres"

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
if [[ -z "$bin" ]]; then
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  as_pg=(runuser -u postgres --)
fi
if ! "${bin}/pg_isready" -q -h 127.0.0.1 -p "$port"; then
  if [[ ! -f "$root/data/PG_VERSION" ]]; then
    mkdir -p "$root"
    [[ $(id -u) -eq 0 ]] && chown postgres: "$root"
    "${as_pg[@]}" "${bin}/initdb" -D "$root/data" -U postgres --auth=trust -E UTF8 >&2
  fi
  "${as_pg[@]}" "${bin}/pg_ctl" -D "$root/data" -l "$root/log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${root}" start >&2
fi
echo "$url"
