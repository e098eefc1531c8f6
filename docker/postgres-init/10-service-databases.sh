#!/usr/bin/env bash
# First-start init script of the compose `postgres` service (mounted on /docker-entrypoint-initdb.d;
# runs once, when the data volume is empty): one database and one login role per service, the role
# owning its database. CONNECT is revoked from PUBLIC on each, so a service's role cannot open
# another service's database. Passwords: USERS_DB_PASSWORD, PRODUCTS_DB_PASSWORD, ORDERS_DB_PASSWORD,
# NOTIFICATIONS_DB_PASSWORD.
set -euo pipefail

create_service_database() {
    local db=$1 role=$2 password=$3
    echo "creating database $db owned by role $role"
    # psql substitutes :"x" (identifier) and :'x' (literal) with correct quoting.
    psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname postgres \
        --set db="$db" --set role="$role" --set password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'password';
CREATE DATABASE :"db" OWNER :"role";
REVOKE ALL ON DATABASE :"db" FROM PUBLIC;
SQL
}

create_service_database users users_svc "${USERS_DB_PASSWORD:?is not set}"
create_service_database products products_svc "${PRODUCTS_DB_PASSWORD:?is not set}"
create_service_database orders orders_svc "${ORDERS_DB_PASSWORD:?is not set}"
create_service_database notifications notifications_svc "${NOTIFICATIONS_DB_PASSWORD:?is not set}"
