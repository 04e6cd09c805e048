#!/usr/bin/env bash
# Set up pecflow and run its main job on the embedded default (SQLite) with the bundled sample
# drop folder: generate the samples, import their orders, `pecflow run --once`, show the orders.
# Customer e-mails go to a throw-away SMTP server on loopback that files them in demo/sent-mail.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e . "aiosmtpd>=1.4,<2"

rm -rf demo
.venv/bin/python scripts/make_samples.py demo >/dev/null
cd demo
../.venv/bin/pecflow init . >/dev/null

port=$(../.venv/bin/python -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
../.venv/bin/python -m aiosmtpd -n -l "127.0.0.1:${port}" -c aiosmtpd.handlers.Mailbox sent-mail &
sink=$!
trap 'kill "$sink" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  ../.venv/bin/python -c "import socket; socket.create_connection(('127.0.0.1', ${port}), 1).close()" 2>/dev/null && break
  sleep 0.1
done
export PECFLOW_SMTP__PORT="$port"

../.venv/bin/pecflow orders import orders.csv
status=0
../.venv/bin/pecflow run --once || status=$?
../.venv/bin/pecflow orders list
echo "customer e-mails sent: $(find sent-mail/new -type f 2>/dev/null | wc -l) (in demo/sent-mail/new)"
exit "$status"
