# shellcheck shell=bash
# Sourced by `make migrate` and tools/run_services.sh: exports the variables of the env file "$1" (.env, or the
# development values of .env.example). An EMBEDDED_PG_PORT the caller set wins over the file's, and database URLs
# that name the file's port follow it, so `EMBEDDED_PG_PORT=54400 make run` runs on that port throughout.
_caller_port=${EMBEDDED_PG_PORT:-}
set -a
# shellcheck disable=SC1090
source "$1"
set +a
if [ -n "$_caller_port" ] && [ "$_caller_port" != "${EMBEDDED_PG_PORT:-}" ]; then
  STICKER_DATABASE_URL=${STICKER_DATABASE_URL/127.0.0.1:${EMBEDDED_PG_PORT:-54329}\//127.0.0.1:$_caller_port/}
  SEARCH_DATABASE_URL=${SEARCH_DATABASE_URL/127.0.0.1:${EMBEDDED_PG_PORT:-54329}\//127.0.0.1:$_caller_port/}
  export EMBEDDED_PG_PORT=$_caller_port STICKER_DATABASE_URL SEARCH_DATABASE_URL
fi
unset _caller_port
