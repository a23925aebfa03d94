#!/bin/bash
# realtor_3cx's entrypoint on the official odoo:18.0 image (which it replaces: that one passes
# the database settings on the command line, and reads no admin password or worker count).
#
#   odoo [ARGS]    write odoo.conf from the environment, install or upgrade realtor_3cx when the
#                  addon on disk differs from the database's (upgrade.py), then start Odoo
#                  (prefork: HTTP workers on 8069, the gevent websocket process on 8072)
#   worker [ARGS]  the same odoo.conf, wait until the odoo service has brought the database up
#                  to date, then the telephony worker (python -m realtor_3cx.worker)
#   anything else  run as given (a shell, odoo shell, ...)
#
# VAR_FILE (a Docker secret's path) may stand for REALTOR_3CX_SECRET_KEY, ODOO_ADMIN_PASSWORD
# and PASSWORD: the secrets never need to be in the environment of `docker inspect`.
set -euo pipefail

for var in REALTOR_3CX_SECRET_KEY ODOO_ADMIN_PASSWORD PASSWORD; do
    file_var="${var}_FILE"
    if [ -n "${!file_var:-}" ]; then
        value="$(< "${!file_var}")"
        export "${var}=${value}"
    fi
done

: "${ODOO_RC:=/etc/odoo/odoo.conf}"
: "${HOST:=db}"
: "${PORT:=5432}"
: "${USER:=odoo}"
: "${PASSWORD:?set PASSWORD (or PASSWORD_FILE): the PostgreSQL password}"
: "${ODOO_DATABASE:=realtor_3cx}"
: "${ODOO_WORKERS:=4}"
: "${ODOO_CRON_THREADS:=1}"
: "${ODOO_LIMIT_MEMORY_SOFT:=2147483648}"
: "${ODOO_LIMIT_MEMORY_HARD:=2684354560}"
: "${ODOO_LIMIT_TIME_REAL:=120}"
: "${ODOO_LOG_LEVEL:=info}"
: "${REALTOR_3CX_UPGRADE_WAIT:=1800}"
# the addon's folder: compared with the database by upgrade.py, its parent holds the worker
: "${REALTOR_3CX_ADDON:=/mnt/extra-addons/realtor_3cx}"

write_conf() {
    # The key that encrypts 3CX secrets stays in the environment (the addon and the worker read
    # REALTOR_3CX_SECRET_KEY): never in this file, never in the database.
    : "${REALTOR_3CX_SECRET_KEY:?set REALTOR_3CX_SECRET_KEY (or REALTOR_3CX_SECRET_KEY_FILE)}"
    : "${ODOO_ADMIN_PASSWORD:?set ODOO_ADMIN_PASSWORD (or ODOO_ADMIN_PASSWORD_FILE)}"
    # It holds the passwords. The image ships it world-readable, and `>` keeps a file's mode.
    umask 077
    touch "${ODOO_RC}"
    chmod 600 "${ODOO_RC}"
    cat > "${ODOO_RC}" <<EOF
[options]
addons_path = /mnt/extra-addons
data_dir = /var/lib/odoo
db_host = ${HOST}
db_port = ${PORT}
db_user = ${USER}
db_password = ${PASSWORD}
admin_passwd = ${ODOO_ADMIN_PASSWORD}
db_name = ${ODOO_DATABASE}
dbfilter = ^${ODOO_DATABASE}\$
list_db = False
without_demo = all
proxy_mode = True
http_port = 8069
gevent_port = 8072
workers = ${ODOO_WORKERS}
max_cron_threads = ${ODOO_CRON_THREADS}
limit_memory_soft = ${ODOO_LIMIT_MEMORY_SOFT}
limit_memory_hard = ${ODOO_LIMIT_MEMORY_HARD}
limit_time_real = ${ODOO_LIMIT_TIME_REAL}
log_level = ${ODOO_LOG_LEVEL}
EOF
}

case "${1:-odoo}" in
    odoo)
        shift || true
        write_conf
        wait-for-psql.py --timeout=60
        upgrade.py -c "${ODOO_RC}" -d "${ODOO_DATABASE}" --addon "${REALTOR_3CX_ADDON}"
        exec odoo -c "${ODOO_RC}" "$@"
        ;;
    worker)
        shift
        write_conf
        wait-for-psql.py --timeout=60
        upgrade.py -c "${ODOO_RC}" -d "${ODOO_DATABASE}" --addon "${REALTOR_3CX_ADDON}" \
            --wait "${REALTOR_3CX_UPGRADE_WAIT}"
        cd "$(dirname "${REALTOR_3CX_ADDON}")"
        exec python3 -m realtor_3cx.worker -c "${ODOO_RC}" -d "${ODOO_DATABASE}" "$@"
        ;;
    *)
        exec "$@"
        ;;
esac
