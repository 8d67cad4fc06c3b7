#!/bin/sh
# Before serving (gunicorn, or `flask run` in development): wait for PostgreSQL and Redis, bring the schema up to
# date and create the default roles and permissions. Any other command (`flask users list`, a shell) runs as is.
set -eu

case "$*" in
"gunicorn "* | "flask run"*)
    flask app wait --timeout "${STARTUP_WAIT_TIMEOUT:-60}"
    flask db upgrade
    flask app init
    ;;
esac
exec "$@"
