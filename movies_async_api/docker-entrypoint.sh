#!/bin/sh
# Before serving (gunicorn, or uvicorn in development): wait for PostgreSQL and Redis and create the schema;
# with CATALOGUE_DEMO_FILMS set, also generate that many made-up films (again changes nothing).
# Any other command (`movies-api load-sqlite FILE`, a shell) runs as is.
set -eu

case "$*" in
"gunicorn "* | "uvicorn "*)
    movies-api wait --timeout "${STARTUP_WAIT_TIMEOUT:-60}"
    movies-api init
    if [ -n "${CATALOGUE_DEMO_FILMS:-}" ]; then
        movies-api demo --films "$CATALOGUE_DEMO_FILMS"
    fi
    ;;
esac
exec "$@"
