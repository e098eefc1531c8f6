#!/usr/bin/env bash
# Entrypoint of shop-local/postgres, following the official postgres image's contract:
#  - POSTGRES_USER (default postgres), POSTGRES_PASSWORD, POSTGRES_DB (default $POSTGRES_USER),
#    POSTGRES_INITDB_ARGS, POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD (default scram-sha-256),
#    and the *_FILE variants of the first four;
#  - on first start only (empty $PGDATA): initdb, then /docker-entrypoint-initdb.d/* in name order
#    (*.sh run if executable, else sourced; *.sql, *.sql.gz, *.sql.xz, *.sql.zst fed to psql)
#    against a temporary server that listens on the Unix socket only;
#  - arguments starting with '-' are arguments of the postgres server; other commands run as given;
#  - started as root, it fixes ownership of $PGDATA and re-runs itself as the postgres user.
# With fsync turned off, initdb skips its final sync as well (the official image always syncs).
# As in the official image, the temporary server logs to stdout and the final server to stderr, so
# "database system is ready to accept connections" appears on both during a first start.
set -Eeuo pipefail

# Exports VAR from $VAR, else from the file named by $VAR_FILE (Docker secrets), else the default.
file_env() {
    local var=$1 file_var="${1}_FILE" default=${2:-}
    if [[ -n ${!var:-} && -n ${!file_var:-} ]]; then
        echo >&2 "error: both $var and $file_var are set (but are exclusive)"
        exit 1
    fi
    local value=$default
    if [[ -n ${!var:-} ]]; then
        value=${!var}
    elif [[ -n ${!file_var:-} ]]; then
        value=$(<"${!file_var}")
    fi
    export "$var=$value"
    unset "$file_var"
}

# True when the server arguments only ask for help or version, which needs no database.
wants_help() {
    local arg
    for arg; do
        case $arg in
            -'?' | --help | --describe-config | -V | --version) return 0 ;;
        esac
    done
    return 1
}

create_directories() {
    mkdir -p "$PGDATA"
    chmod 0700 "$PGDATA" 2>/dev/null || :
    mkdir -p /var/run/postgresql
    chmod 3777 /var/run/postgresql 2>/dev/null || :
    if [[ -n ${POSTGRES_INITDB_WALDIR:-} ]]; then
        mkdir -p "$POSTGRES_INITDB_WALDIR"
        chmod 0700 "$POSTGRES_INITDB_WALDIR" 2>/dev/null || :
    fi
    if [[ $(id -u) -eq 0 ]]; then
        find "$PGDATA" /var/run/postgresql ${POSTGRES_INITDB_WALDIR:+"$POSTGRES_INITDB_WALDIR"} \
            \! -user postgres -exec chown postgres:postgres '{}' +
    fi
}

setup_env() {
    file_env POSTGRES_PASSWORD
    file_env POSTGRES_USER postgres
    file_env POSTGRES_DB "$POSTGRES_USER"
    file_env POSTGRES_INITDB_ARGS
    : "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
}

verify_env() {
    if [[ -z $POSTGRES_PASSWORD && $POSTGRES_HOST_AUTH_METHOD != trust ]]; then
        cat >&2 <<'EOF'
error: the database is uninitialized and no superuser password is set.
       Set POSTGRES_PASSWORD (or POSTGRES_PASSWORD_FILE) to a non-empty value, or
       POSTGRES_HOST_AUTH_METHOD=trust to allow every connection without a password
       (never do that outside a throwaway test).
EOF
        exit 1
    fi
}

# True when the server arguments turn fsync off (`-c fsync=off`, `--fsync=off`, ...).
fsync_off() {
    local arg
    for arg; do
        case $arg in
            *fsync=off | *fsync=false | *fsync=no | *fsync=0) return 0 ;;
        esac
    done
    return 1
}

# Arguments: the server's arguments.
init_database_directory() {
    local -a initdb_args=(--username="$POSTGRES_USER")
    if [[ -n ${POSTGRES_INITDB_WALDIR:-} ]]; then
        initdb_args+=(--waldir="$POSTGRES_INITDB_WALDIR")
    fi
    # Whoever turns fsync off has given up crash safety; initdb's final sync then only costs time
    # (about half a second per start, which test suites pay once per test binary).
    if fsync_off "$@"; then
        initdb_args+=(--no-sync)
    fi
    # POSTGRES_INITDB_ARGS is shell words, as in the official image (e.g. --locale="en_US.UTF-8").
    # The password file is a process substitution on the command itself, so it is still open when
    # initdb reads it and the password never touches the disk.
    eval 'initdb "${initdb_args[@]}" --pwfile=<(printf "%s\n" "$POSTGRES_PASSWORD") '"$POSTGRES_INITDB_ARGS"
    printf '\nhost all all all %s\n' "$POSTGRES_HOST_AUTH_METHOD" >>"$PGDATA/pg_hba.conf"
}

# Runs psql on the init-time server as the superuser; extra arguments go to psql (a later
# --dbname overrides the default $POSTGRES_DB).
process_sql() {
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --no-password --no-psqlrc --dbname "$POSTGRES_DB" "$@"
}

# Starts the init-time server: Unix socket only, so nothing outside connects before init is done.
# Without -l, pg_ctl sends the server's log to its own stdout.
temp_server_start() {
    local options
    options=$(printf '%q ' "$@" -c listen_addresses= -p "${PGPORT:-5432}")
    PGUSER=$POSTGRES_USER pg_ctl -D "$PGDATA" -o "$options" -w start
}

temp_server_stop() {
    PGUSER=$POSTGRES_USER pg_ctl -D "$PGDATA" -m fast -w stop
}

process_init_files() {
    local f
    echo
    for f in /docker-entrypoint-initdb.d/*; do
        [[ -e $f ]] || continue
        case $f in
            *.sh)
                if [[ -x $f ]]; then
                    echo "$0: running $f"
                    "$f"
                else
                    echo "$0: sourcing $f"
                    # Such scripts are written for the official image, which does not run with -u.
                    set +u
                    # shellcheck disable=SC1090
                    . "$f"
                    set -u
                fi
                ;;
            *.sql) echo "$0: running $f"; process_sql -f "$f"; echo ;;
            *.sql.gz) echo "$0: running $f"; gunzip -c "$f" | process_sql; echo ;;
            *.sql.xz) echo "$0: running $f"; xzcat "$f" | process_sql; echo ;;
            *.sql.zst) echo "$0: running $f"; zstd -dc "$f" | process_sql; echo ;;
            *) echo "$0: ignoring $f" ;;
        esac
    done
}

main() {
    if [[ $# -eq 0 || ${1:0:1} == - ]]; then
        set -- postgres "$@"
    fi
    if [[ $1 != postgres ]] || wants_help "$@"; then
        exec "$@"
    fi

    create_directories
    if [[ $(id -u) -eq 0 ]]; then
        exec setpriv --reuid=postgres --regid=postgres --init-groups "${BASH_SOURCE[0]}" "$@"
    fi

    if [[ -s $PGDATA/PG_VERSION ]]; then
        echo
        echo 'PostgreSQL Database directory appears to contain a database; Skipping initialization'
        echo
    else
        setup_env
        verify_env
        init_database_directory "${@:2}"

        export PGPASSWORD=$POSTGRES_PASSWORD
        temp_server_start "${@:2}"
        if [[ $POSTGRES_DB != postgres ]]; then
            process_sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";'
            echo
        fi
        process_init_files
        temp_server_stop
        unset PGPASSWORD

        echo
        echo 'PostgreSQL init process complete; ready for start up.'
        echo
    fi

    exec "$@"
}

main "$@"
