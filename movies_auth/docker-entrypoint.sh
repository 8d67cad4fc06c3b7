#!/bin/sh
# Before serving (gunicorn, or `flask run` in development): wait for PostgreSQL and Redis, bring the schema up to
# date, create the default roles and permissions (and the first signing key), and register the platform's
# services: each variable SERVICE_SECRET_<NAME> makes service <name> (lower case, "_" as "-") with that secret.
# Any other command (`flask users list`, a shell) runs as is.
set -eu

case "$*" in
"gunicorn "* | "flask run"*)
    flask app wait --timeout "${STARTUP_WAIT_TIMEOUT:-60}"
    flask db upgrade
    flask app init
    for variable in $(env | sed -n 's/^\(SERVICE_SECRET_[A-Z0-9_]*\)=.*/\1/p'); do
        name=$(echo "${variable#SERVICE_SECRET_}" | tr 'A-Z_' 'a-z-')
        flask services ensure "$name" --secret-env "$variable"
    done
    ;;
esac
exec "$@"
