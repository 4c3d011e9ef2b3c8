#!/bin/sh
# Entrypoint of both service images (sticker_service/Dockerfile, search_service/Dockerfile); the
# working directory is the service folder. Unless MIGRATE_ON_START=false it applies the database
# migrations and, on sticker_service with ADMIN_PASSWORD set, creates/updates the admin user. Then it
# runs the command: gunicorn by default, or any other (`docker compose run --rm search_service
# python manage.py help`). With many replicas, run the release step once (the image with the command
# `true` and MIGRATE_ON_START=true) and start the replicas with MIGRATE_ON_START=false.
set -eu

if [ "${MIGRATE_ON_START:-true}" = "true" ]; then
  python manage.py migrate --noinput
  if [ -n "${ADMIN_PASSWORD:-}" ] && [ -f accounts/management/commands/ensure_admin.py ]; then
    python manage.py ensure_admin
  fi
fi

exec "$@"
