#!/usr/bin/env bash
# Set up and run the whole test suite on a fresh machine: venv, packages, PostgreSQL, checks,
# then the two tiers: the unit tier (pure code and parsers; `pytest -m unit`) and the
# integration tier (databases, Dovecot, SMTP, Tesseract; `-m "not unit"`).
#   scripts/test.sh            both tiers
#   scripts/test.sh --unit     the unit tier alone (about half a minute)
# Extra arguments go to pytest (e.g. scripts/test.sh -k import -x).
set -euo pipefail
cd "$(dirname "$0")/.."
unit_only=0
if [[ "${1:-}" == "--unit" ]]; then
  unit_only=1
  shift
fi

if [[ ! -x .venv/bin/python ]]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[dev]'

# Debian packages the real parts need: Dovecot for the IMAP tests, Tesseract with its Italian
# data for OCR, Chromium and its driver for the console's browser test.
needed=()
command -v dovecot >/dev/null || needed+=(dovecot-imapd)
command -v tesseract >/dev/null || needed+=(tesseract-ocr)
[[ -n $(find /usr/share/tesseract-ocr -name ita.traineddata 2>/dev/null) ]] || needed+=(tesseract-ocr-ita)
command -v chromium >/dev/null || needed+=(chromium)
command -v chromedriver >/dev/null || needed+=(chromium-driver)
if ((${#needed[@]})); then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${needed[@]}" >/dev/null
fi

# A PostgreSQL for the suite: the one on 127.0.0.1:5432 when it answers, else a private one.
if [[ -z "${PECFLOW_TEST_PG_URL:-}" ]]; then
  if .venv/bin/python -c "import psycopg; psycopg.connect('host=127.0.0.1 port=5432 user=postgres dbname=postgres', connect_timeout=3).close()" 2>/dev/null; then
    export PECFLOW_TEST_PG_URL="postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
  else
    export PECFLOW_TEST_PG_URL="$(scripts/start-postgres.sh)"
  fi
fi
echo "tests use PostgreSQL at ${PECFLOW_TEST_PG_URL}"

.venv/bin/ruff check .
.venv/bin/mypy config pipeline parsers mailer jobs web
# Two workers, one per core (PECFLOW_TEST_WORKERS to change it). A unit test that opens a
# connection, a database or a program fails (tests/conftest.py), and the unit tier runs with no
# PostgreSQL to reach.
workers="${PECFLOW_TEST_WORKERS:-2}"
status=0
PECFLOW_TEST_PG_URL="postgresql+psycopg://nobody@127.0.0.1:9/none" \
  .venv/bin/python -m pytest -n "$workers" -m unit "$@" || status=$?
if ((status != 0 && status != 5)); then  # 5: the arguments selected no unit test
  exit "$status"
fi
if ((unit_only)); then
  exit 0
fi
# A file's tests stay together, so that its fixtures are built once.
exec .venv/bin/python -m pytest -n "$workers" --dist loadfile -m "not unit" "$@"
