#!/usr/bin/env bash
# The test command's body (make test): the repository checks (tests/repository: compose file, Dockerfiles,
# .env.example, docs and the Postman collection read as data, no database), pytest for both services against the
# real database, the default model's training (model_training: smoke training on generated shapes, no database),
# the system tests (tests/system: both services together), the compose stack with podman (tests/containers, root
# only), then sticker_service once more against the machine's stock PostgreSQL 15 (no extensions).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-$PWD/.venv/bin/python}
EMBEDDED="$PY tools/embedded_pg.py"

# Production-like settings: DEBUG off, throwaway random secrets.
export DJANGO_DEBUG=false
export STICKER_SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
export SEARCH_SECRET_KEY=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(50))')
# DJANGO_DEBUG=false refuses an empty or development service token (servicekit/settings.py); the admin
# password and token are not set (tests create their own users).
export SEARCH_SERVICE_TOKEN=$("$PY" -c 'import secrets; print(secrets.token_urlsafe(32))')
unset ADMIN_PASSWORD ADMIN_TOKEN
export STICKER_DATABASE_URL=${TEST_STICKER_DATABASE_URL:-$($EMBEDDED url sticker)}
export SEARCH_DATABASE_URL=${TEST_SEARCH_DATABASE_URL:-$($EMBEDDED url search)}
export SECURE_COOKIES=false
# Without DEBUG an internal (loopback/private) STICKER_MEDIA_URL is refused; tests that load images set their own.
export STICKER_MEDIA_URL=https://media.example.com/stickers/
export LOG_LEVEL=WARNING
export PY

# Headless Chromium for the demo page's browser test (tests/system). A fresh CI machine has
# none: install Debian's chromium when missing and running as root. Otherwise that one test skips with the
# reason, except with CI=true, where it fails (see testkit/browser.py).
if [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "=== installing chromium (apt-get) for the demo page's browser test ==="
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
    || echo "chromium could not be installed; the browser test will skip (or fail with CI=true)"
fi

status=0
# TEST_SUITES: which folders run (default all; make fuzz runs only tests/system's schemathesis test).
# tests/containers (the compose stack with podman) needs root: it skips without, except with CI=true.
SUITES=${TEST_SUITES:-tests/repository search_service model_training servicekit sticker_service tests/system tests/containers}
for suite in $SUITES; do
  # From the repository root, the one import root; each suite's pytest.ini names its settings.
  # tests/system runs once, on the embedded database: it brings its own gunicorn processes and a private cluster.
  "$PY" -m pytest "$suite" "$@" || status=1
done
case " $SUITES " in *" sticker_service "*) ;; *) exit $status ;; esac

# Stock PostgreSQL 15 leg: proves sticker_service needs no extension. Required on CI.
STOCK_URL=${STOCK_PG_URL:-postgres://postgres@127.0.0.1:5432/sticker_stock}
if "$PY" - "$STOCK_URL" <<'PYEOF'
import sys, psycopg2
try:
    psycopg2.connect(sys.argv[1].rsplit("/", 1)[0] + "/postgres", connect_timeout=3).close()
except Exception as exc:
    print(f"stock PostgreSQL not reachable: {exc}")
    sys.exit(1)
PYEOF
then
  echo "=== sticker_service against stock PostgreSQL at ${STOCK_URL%/*} ==="
  # sticker_service's own tests only: the system tests (tests/system) ran above, once.
  STICKER_DATABASE_URL=$STOCK_URL "$PY" -m pytest sticker_service "$@" || status=1
elif [ "${CI:-}" = "true" ]; then
  echo "CI: the stock PostgreSQL leg is required but the server is unreachable"; status=1
else
  echo "skipped: sticker_service on stock PostgreSQL (no server at ${STOCK_URL%/*})"
fi
exit $status
