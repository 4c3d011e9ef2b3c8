#!/usr/bin/env bash
# The run command (make run): embedded PostgreSQL (unless EMBEDDED_PG=false), migrations, admin
# bootstrap, demo data, then both services under gunicorn. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PY:-$ROOT/.venv/bin/python}
ENV_FILE=${ENV_FILE:-.env.example}
# shellcheck source=tools/load_env.sh
source tools/load_env.sh "$ENV_FILE"

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "stopping services..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
  if [ "${EMBEDDED_PG:-true}" = "true" ]; then "$PY" tools/embedded_pg.py stop || true; fi
}
trap cleanup INT TERM EXIT

if [ "${EMBEDDED_PG:-true}" = "true" ]; then "$PY" tools/embedded_pg.py start; fi

(cd search_service && "$PY" manage.py migrate --noinput && "$PY" manage.py collectstatic --noinput -v0)
# Demo stickers (Noto emoji titled and tagged with CLDR names/keywords, committed in search_service/demo_stickers):
# idempotent (files already indexed are skipped); --reindex re-embeds them after a model change.
if [ "${SEARCH_DEMO_STICKERS:-true}" = "true" ]; then
  (cd search_service && "$PY" manage.py index_images demo_stickers --metadata demo_stickers/metadata.json --reindex)
fi
(cd sticker_service && "$PY" manage.py migrate --noinput && "$PY" manage.py collectstatic --noinput -v0)
if [ -n "${ADMIN_PASSWORD:-}" ] && [ -f sticker_service/accounts/management/commands/ensure_admin.py ]; then
  (cd sticker_service && "$PY" manage.py ensure_admin)
fi

GUNICORN=$(dirname "$PY")/gunicorn
(cd search_service && exec "$GUNICORN" -c gunicorn.conf.py config.wsgi) & pids+=($!)
(cd sticker_service && exec "$GUNICORN" -c gunicorn.conf.py config.wsgi) & pids+=($!)
echo "sticker_service: http://127.0.0.1:${STICKER_PORT:-8000}/  search_service: http://127.0.0.1:${SEARCH_PORT:-8118}/"
echo "Ctrl-C stops both services and the embedded database."
wait -n "${pids[@]}"
