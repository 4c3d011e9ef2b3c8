#!/bin/sh
# Entrypoint of both service images (sticker_service/Dockerfile, search_service/Dockerfile); the
# working directory is the service folder. Unless MIGRATE_ON_START=false it applies the database
# migrations, on sticker_service with ADMIN_PASSWORD set creates/updates the admin user, and on
# search_service with SEARCH_DEMO_STICKERS=true indexes the demo stickers into an empty index. Then it
# runs the command: gunicorn by default, or any other (`docker compose run --rm search_service
# python manage.py help`). With many replicas, run the release step once (the image with the command
# `true` and MIGRATE_ON_START=true) and start the replicas with MIGRATE_ON_START=false.
set -eu

if [ "${MIGRATE_ON_START:-true}" = "true" ]; then
  python manage.py migrate --noinput
  if [ -n "${ADMIN_PASSWORD:-}" ] && [ -f accounts/management/commands/ensure_admin.py ]; then
    python manage.py ensure_admin
  fi
  # search_service: index the demo stickers shipped in the image, only while the index is empty (--if-empty:
  # a demo sticker deleted later stays deleted, an upload of the same name is never overwritten). Off unless
  # set. After a model change, re-embed everything once: python manage.py index_images --reindex.
  if [ "${SEARCH_DEMO_STICKERS:-false}" = "true" ] && [ -f demo_stickers/metadata.json ]; then
    python manage.py index_images demo_stickers --metadata demo_stickers/metadata.json --if-empty --no-progress
  fi
fi

exec "$@"
