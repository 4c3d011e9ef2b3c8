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

"$PY" -m search_service migrate --noinput && "$PY" -m search_service collectstatic --noinput -v0
# Serving without torch: the model's towers exported to ONNX once (a no-op while the export is current). A model
# that cannot be exported is served by torch under SEARCH_RUNTIME=auto; SEARCH_RUNTIME=onnx stops here.
if [ "${SEARCH_RUNTIME:-auto}" != "torch" ]; then
  "$PY" -m search_service export_onnx || [ "${SEARCH_RUNTIME:-auto}" = "auto" ]
fi
# Demo stickers (Noto emoji titled and tagged with CLDR names/keywords, committed in search_service/demo_stickers):
# idempotent (files already indexed are skipped); --reindex re-embeds them after a model change.
if [ "${SEARCH_DEMO_STICKERS:-true}" = "true" ]; then
  "$PY" -m search_service index_images search_service/demo_stickers --metadata search_service/demo_stickers/metadata.json \
    --reindex
fi
"$PY" -m sticker_service migrate --noinput && "$PY" -m sticker_service collectstatic --noinput -v0
if [ -n "${ADMIN_PASSWORD:-}" ] && [ -f sticker_service/accounts/management/commands/ensure_admin.py ]; then
  "$PY" -m sticker_service ensure_admin
fi

GUNICORN=$(dirname "$PY")/gunicorn
"$GUNICORN" -c search_service/gunicorn.conf.py search_service.config.wsgi & pids+=($!)
"$GUNICORN" -c sticker_service/gunicorn.conf.py sticker_service.config.wsgi & pids+=($!)
echo "sticker_service: http://127.0.0.1:${STICKER_PORT:-8000}/  search_service: http://127.0.0.1:${SEARCH_PORT:-8118}/"
echo "Ctrl-C stops both services and the embedded database."
wait -n "${pids[@]}"
