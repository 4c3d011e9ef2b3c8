#!/bin/sh
# Entrypoint of both service images (sticker_service/Dockerfile, search_service/Dockerfile); the
# working directory is the service folder. Applies database migrations (set MIGRATE_ON_START=false
# when a release job migrates once before many replicas start), creates/updates the admin user on
# sticker_service when ADMIN_PASSWORD is set, then runs the command: gunicorn by default, or any
# other (e.g. `docker compose run --rm search_service python manage.py help`).
set -eu

if [ "${MIGRATE_ON_START:-true}" = "true" ]; then
  python manage.py migrate --noinput
fi

if [ -n "${ADMIN_PASSWORD:-}" ] && [ -f accounts/management/commands/ensure_admin.py ]; then
  python manage.py ensure_admin
fi

exec "$@"
