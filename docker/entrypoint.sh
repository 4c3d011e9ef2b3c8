#!/bin/sh
# Entrypoint of both service images (sticker_service/Dockerfile, search_service/Dockerfile); the working directory
# is /app (the repository's layout), which holds one service package. It waits for the database
# (docker/wait_for_db.py), then, unless MIGRATE_ON_START=false, applies the database migrations, on sticker_service
# with ADMIN_PASSWORD set creates/updates the admin user, and on search_service with SEARCH_DEMO_STICKERS=true
# indexes the demo stickers into an empty index. Then it runs the command: gunicorn by default, or any other
# (`docker compose run --rm search_service python -m search_service help`). With many replicas, run the release
# step once (the image with the command `true` and MIGRATE_ON_START=true) and start the replicas with
# MIGRATE_ON_START=false.
set -eu
# The image's one service package: sticker_service or search_service.
image_service() { basename /app/*_service; }

# Up to 120 s: engines that ignore depends_on's service_healthy start the service beside a starting database.
python -m docker.wait_for_db "$(image_service)"

if [ "${MIGRATE_ON_START:-true}" = "true" ]; then
  python -m "$(image_service)" migrate --noinput
  if [ -n "${ADMIN_PASSWORD:-}" ] && [ "$(image_service)" = sticker_service ]; then
    python -m sticker_service ensure_admin
  fi
  # search_service: index the demo stickers shipped in the image, only while the index is empty (--if-empty:
  # a demo sticker deleted later stays deleted, an upload of the same name is never overwritten). Off unless
  # set. After a model change, re-embed everything once: python -m search_service index_images --reindex.
  # search_service: export the model's towers to ONNX (a no-op while a current export is in the model cache), so
  # that workers serve without torch (SEARCH_RUNTIME=auto; a model that cannot be exported is served by torch).
  if [ "$(image_service)" = search_service ] && [ "${SEARCH_RUNTIME:-auto}" != "torch" ]; then
    python -m search_service export_onnx || [ "${SEARCH_RUNTIME:-auto}" = "auto" ]
  fi
  if [ "${SEARCH_DEMO_STICKERS:-false}" = "true" ] && [ "$(image_service)" = search_service ]; then
    python -m search_service index_images search_service/demo_stickers \
      --metadata search_service/demo_stickers/metadata.json --if-empty --no-progress
  fi
fi

exec "$@"
