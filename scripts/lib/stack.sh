# shellcheck shell=bash
# FertiVision local stack: the one library behind scripts/up, scripts/down, scripts/test and the
# per-stack control script (scripts/lib/stackctl). Sourced, never run.
#
# A "stack" is a directory holding everything one running FertiVision needs, all owned by the
# unprivileged user "fertivision" that every daemon runs as:
#   stack.env          ports and paths of this stack (written once by fv_stack_prepare)
#   ctl                executable control script bound to this stack (wraps scripts/lib/stackctl)
#   fertivision.conf   the app's configuration, pointing at the services below
#   install/           `make install DESTDIR=` copy of the build (what the daemons run and read)
#   pgdata/            PostgreSQL cluster (unix socket only, no TCP)
#   redis/             Redis working directory (unix socket only, port 0)
#   documents/         storage_url
#   keys/ (0700)       audit.key: the audit trail's HMAC key (audit_key_file), made once, never replaced;
#                      storage.keys: the documents' encryption keys (storage_keys_file), made once
#   spool/ (0700)      uploads in progress (anonymous files, gone when the upload ends)
#   nginx/             rendered nginx.conf and nginx's temp directories
#   run/  (0700)       sockets and pid files
#   log/               postgres.log redis.log fv-app.log fv-worker.log nginx-error.log nginx-access.log
#                      build.log
# Services are found again by their pid files (and the process name behind each pid), never by name.

FV_USER=fertivision
FV_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)
FV_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac # useradd, nginx
: "${FV_PROG:=$(basename "$0")}"

fv_say() { printf '%s: %s\n' "$FV_PROG" "$*"; }
fv_warn() { printf '%s: warning: %s\n' "$FV_PROG" "$*" >&2; }
fv_die() {
    printf '%s: error: %s\n' "$FV_PROG" "$*" >&2
    exit 1
}

fv_require_root() {
    [[ $(id -u) -eq 0 ]] || fv_die "run me as root (I install packages, create the user '$FV_USER' and drop to it for every daemon)"
}

# --- packages ----------------------------------------------------------------------------------

FV_BUILD_PACKAGES=(autoconf automake libtool pkg-config gcc make libfcgi-dev libpq-dev
    libhiredis-dev libjson-c-dev libsodium-dev libmagic-dev libcurl4-openssl-dev
    libpoppler-glib-dev libpng-dev libjpeg62-turbo-dev libtiff-dev zlib1g-dev libssl-dev
    libtesseract-dev libleptonica-dev libcairo2-dev fonts-dejavu-core)
FV_RUNTIME_PACKAGES=(postgresql postgresql-contrib redis-server spawn-fcgi curl python3 tesseract-ocr-eng)

fv_pkg_installed() {
    [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]
}

# Installs the Debian packages that are missing; runs `apt-get update` only when one is.
fv_install_deps() {
    local missing=() p
    for p in "${FV_BUILD_PACKAGES[@]}" "${FV_RUNTIME_PACKAGES[@]}"; do
        fv_pkg_installed "$p" || missing+=("$p")
    done
    if ! fv_pkg_installed nginx-light && ! fv_pkg_installed nginx && ! fv_pkg_installed nginx-full &&
        ! fv_pkg_installed nginx-extras; then
        missing+=(nginx-light)
    fi
    # The S3 tests run s3rver on Node.js; a machine that has node from elsewhere keeps it.
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        missing+=(nodejs npm)
    fi
    if [[ ${#missing[@]} -eq 0 ]]; then
        return 0
    fi
    fv_say "installing missing packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq </dev/null || fv_die "apt-get update failed"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null ||
        fv_die "apt-get install failed: ${missing[*]}"
}

fv_ensure_user() {
    id -u "$FV_USER" >/dev/null 2>&1 && return 0
    fv_say "creating system user '$FV_USER'"
    useradd --system --user-group --home-dir /var/lib/fertivision --no-create-home \
        --shell /usr/sbin/nologin "$FV_USER" || fv_die "useradd $FV_USER failed"
}

# --- build -------------------------------------------------------------------------------------

# fv_build LOGFILE: autogen (when there is no configure), configure (when there is no Makefile),
# make. All output goes to LOGFILE; its tail is shown on failure. Returns make's status.
fv_build() {
    local log=$1 rc=0
    : >"$log"
    (
        set -e
        cd "$FV_REPO"
        if [[ ! -f configure ]]; then
            [[ -f autogen.sh ]] || {
                echo "no autogen.sh and no configure in $FV_REPO: the build system is not there"
                exit 1
            }
            echo "+ ./autogen.sh"
            if [[ -x autogen.sh ]]; then ./autogen.sh; else sh ./autogen.sh; fi
        fi
        if [[ ! -f Makefile ]]; then
            echo "+ ./configure ${FV_CONFIGURE_FLAGS:-}"
            # shellcheck disable=SC2086 # word splitting of the flags is intended
            ./configure ${FV_CONFIGURE_FLAGS:-}
        fi
        echo "+ make -j$(nproc)"
        make -j"$(nproc)"
    ) >>"$log" 2>&1 </dev/null || rc=$?
    if [[ $rc -ne 0 ]]; then
        fv_warn "build failed (exit $rc); last lines of $log:"
        tail -n 40 "$log" | sed 's/^/    /' >&2
    fi
    return "$rc"
}

# fv_make_var NAME: the value of a variable of the top-level Makefile (bindir, datadir, ...).
fv_make_var() {
    local mk
    mk=$(mktemp)
    # shellcheck disable=SC2016 # $(...) is make syntax here
    printf 'fv-print-var:\n\t@printf "%%s\\n" "$(%s)"\n' "$1" >"$mk"
    make -s --no-print-directory -C "$FV_REPO" -f Makefile -f "$mk" fv-print-var
    local rc=$?
    rm -f "$mk"
    return "$rc"
}

# --- ports and directories ---------------------------------------------------------------------

fv_port_free() {
    ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# fv_pick_port START: the first port from START on that nothing listens on.
fv_pick_port() {
    local p=$1
    while ((p < $1 + 200)); do
        if fv_port_free "$p"; then
            echo "$p"
            return 0
        fi
        p=$((p + 1))
    done
    return 1
}

# Can the stack user reach DIR? (Search permission on every ancestor, e.g. not under /root.)
fv_user_can_reach() {
    setpriv --reuid="$FV_USER" --regid="$FV_USER" --init-groups -- test -x "$1" 2>/dev/null
}

# Unix socket paths are limited to 107 bytes; keep the stack path well below that.
fv_path_short_enough() {
    [[ ${#1} -le 70 ]]
}

# Where scripts/up's stack lives: ./var in the checkout when the stack user can reach it, else a
# directory under /var/lib/fertivision-stack/ named after the checkout, with ./var a symlink to
# it. Prints the directory (created, owned by the stack user).
fv_up_stack_dir() {
    local var=$FV_REPO/var dir
    if [[ -L $var ]]; then
        dir=$(readlink -f "$var")
    elif fv_user_can_reach "$FV_REPO" && fv_path_short_enough "$var"; then
        dir=$var
    else
        dir=/var/lib/fertivision-stack/$(basename "$FV_REPO" | tr -c 'A-Za-z0-9._\n-' '_' | cut -c1-24)-$(printf '%s' "$FV_REPO" | sha256sum | cut -c1-8)
        if [[ -e $var ]]; then
            fv_warn "$var exists but the user '$FV_USER' cannot use it; the stack lives in $dir"
        fi
    fi
    mkdir -p "$dir" || return 1
    if [[ $dir != "$var" && ! -e $var && ! -L $var ]]; then
        ln -s "$dir" "$var" || return 1
    fi
    echo "$dir"
}

# The stack directory of an earlier scripts/up, if there is one (no side effects).
fv_up_stack_dir_existing() {
    local var=$FV_REPO/var dir
    if [[ -L $var || -f $var/stack.env ]]; then
        dir=$(readlink -f "$var")
        [[ -f $dir/stack.env ]] && echo "$dir" && return 0
    fi
    for dir in /var/lib/fertivision-stack/*; do
        [[ -f $dir/stack.env ]] || continue
        if grep -qxF "FV_REPO=$(printf '%q' "$FV_REPO")" "$dir/stack.env"; then
            echo "$dir"
            return 0
        fi
    done
    return 1
}

# --- preparing a stack -------------------------------------------------------------------------

# fv_stack_prepare DIR KIND HTTP_PORT PG_PORT
#   KIND is "up" (kept between runs) or "test" (throwaway: no fsync, no Redis persistence).
# Lays out DIR, installs the build into DIR/install, writes stack.env, fertivision.conf, the nginx
# configuration and the ctl wrapper. Needs a finished build. Safe to repeat.
fv_stack_prepare() {
    local dir=$1 kind=$2 http_port=$3 pg_port=$4
    local log=$dir/log/install.log bindir datadir pgbin d

    umask 022
    mkdir -p "$dir" || return 1
    chown "$FV_USER:$FV_USER" "$dir" && chmod 0750 "$dir" || return 1
    for d in log pgdata redis documents keys spool nginx nginx/tmp run; do
        mkdir -p "$dir/$d" && chown "$FV_USER:$FV_USER" "$dir/$d" || return 1
    done
    chmod 0700 "$dir/run" "$dir/pgdata" "$dir/documents" "$dir/keys" "$dir/spool" || return 1

    # The daemons run the installed copy, so they never need to reach the checkout.
    if ! bindir=$(fv_make_var bindir) || ! datadir=$(fv_make_var datadir); then
        fv_warn "cannot read bindir/datadir from $FV_REPO/Makefile (was it configured?)"
        return 1
    fi
    rm -rf "$dir/install"
    if ! (cd "$FV_REPO" && umask 022 && make install DESTDIR="$dir/install") >"$log" 2>&1 </dev/null; then
        fv_warn "make install DESTDIR=$dir/install failed; last lines of $log:"
        tail -n 30 "$log" | sed 's/^/    /' >&2
        return 1
    fi
    chmod -R u+rwX,go+rX,go-w "$dir/install" || return 1
    for d in "$bindir/fv-app" "$bindir/fv-admin" "$bindir/fv-worker"; do
        [[ -x $dir/install$d ]] || {
            fv_warn "make install did not install $d"
            return 1
        }
    done

    pgbin=$(fv_pg_bindir "$dir/pgdata") || return 1

    {
        echo "# FertiVision stack (written by scripts/lib/stack.sh; read by scripts/lib/stackctl)"
        printf 'FV_STACK_DIR=%q\n' "$dir"
        printf 'FV_STACK_KIND=%q\n' "$kind"
        printf 'FV_REPO=%q\n' "$FV_REPO"
        printf 'FV_HTTP_PORT=%q\n' "$http_port"
        printf 'FV_PG_PORT=%q\n' "$pg_port"
        printf 'FV_APP_PROCS=%q\n' "${FV_APP_PROCS:-4}"
        printf 'FV_WORKER_PROCS=%q\n' "${FV_WORKER_PROCS:-2}"
        printf 'FV_BIN_DIR=%q\n' "$dir/install$bindir"
        printf 'FV_SHARE_DIR=%q\n' "$dir/install$datadir/fertivision"
        printf 'FV_PG_BINDIR=%q\n' "$pgbin"
    } >"$dir/stack.env.new" && mv "$dir/stack.env.new" "$dir/stack.env" || return 1

    fv_stack_load "$dir" || return 1
    fv_write_app_conf || return 1
    fv_render_nginx_conf || return 1

    printf '#!/bin/sh\n# Control script of the FertiVision stack in %s; "%s help" lists the commands.\nexec %q %q "$@"\n' \
        "$dir" "$dir/ctl" "$FV_REPO/scripts/lib/stackctl" "$dir" >"$dir/ctl" && chmod 0755 "$dir/ctl"
}

# fv_pg_bindir PGDATA: PostgreSQL's server binaries, of the cluster's version if there is one,
# else of the newest installed version.
fv_pg_bindir() {
    local v
    if [[ -n ${FV_PG_BINDIR_OVERRIDE:-} ]]; then
        echo "$FV_PG_BINDIR_OVERRIDE"
        return 0
    fi
    if [[ -f $1/PG_VERSION ]]; then
        v=$(cat "$1/PG_VERSION")
        [[ -x /usr/lib/postgresql/$v/bin/initdb ]] && echo "/usr/lib/postgresql/$v/bin" && return 0
    fi
    v=$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null | sort -V | tail -n 1)
    [[ -n $v ]] || {
        fv_warn "no PostgreSQL server found under /usr/lib/postgresql (package postgresql)"
        return 1
    }
    dirname "$v"
}

# fv_stack_load DIR: reads DIR/stack.env and sets the derived paths.
fv_stack_load() {
    [[ -f $1/stack.env ]] || {
        fv_warn "$1 is not a FertiVision stack (no stack.env)"
        return 1
    }
    # shellcheck disable=SC1091
    source "$1/stack.env"
    FV_RUN=$FV_STACK_DIR/run
    FV_LOG=$FV_STACK_DIR/log
    FV_PGDATA=$FV_STACK_DIR/pgdata
    FV_CONF=$FV_STACK_DIR/fertivision.conf
    FV_AUDIT_KEY=$FV_STACK_DIR/keys/audit.key
    FV_STORAGE_KEYS=$FV_STACK_DIR/keys/storage.keys
    FV_REDIS_SOCK=$FV_RUN/redis.sock
    FV_REDIS_PID=$FV_RUN/redis.pid
    FV_APP_SOCK=$FV_RUN/fv-app.sock
    FV_APP_PID=$FV_RUN/fv-app.pid
    FV_NGINX_DIR=$FV_STACK_DIR/nginx
    FV_NGINX_PID=$FV_RUN/nginx.pid
    FV_WORKER_LOG=$FV_LOG/fv-worker.log
    : "${FV_WORKER_PROCS:=2}" # stacks made before workers existed
    FV_BASE_URL=http://127.0.0.1:$FV_HTTP_PORT
}

# Percent-encodes a path for use in a URI (keeps / and unreserved characters).
fv_uri_path() {
    local s=$1 out='' c i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        case $c in
        [A-Za-z0-9/._~-]) out+=$c ;;
        *) out+=$(printf '%%%02X' "'$c") ;;
        esac
    done
    printf '%s' "$out"
}

fv_write_app_conf() {
    local share=$FV_SHARE_DIR pg
    pg="postgresql:///fertivision?host=$(fv_uri_path "$FV_RUN")&port=$FV_PG_PORT"
    {
        echo "# Generated by scripts/lib/stack.sh for the local stack in $FV_STACK_DIR."
        echo "# Rewritten by every scripts/up; put extra lines in a file named by FV_STACK_CONF_EXTRA."
        echo "# The application's login (member of fv_app, owns nothing) and the schema owner (migrations)."
        echo "database_url = $pg&user=fertivision"
        echo "migrate_database_url = $pg&user=fertivision_owner"
        echo "audit_key_file = $FV_AUDIT_KEY"
        echo "redis_url = unix://$FV_REDIS_SOCK"
        echo "storage_url = file://$(fv_uri_path "$FV_STACK_DIR/documents")"
        echo "storage_keys_file = $FV_STORAGE_KEYS"
        echo "spool_dir = $FV_STACK_DIR/spool"
        echo "templates_dir = $share/templates"
        echo "static_dir = $share/static"
        echo "sql_dir = $share/sql"
        echo "log_file = -"
        echo "max_body = 52428800"
        echo "max_json_body = 1048576"
        if [[ $FV_STACK_KIND == test ]]; then
            # Short enough that the fault tests (dead workers, retries, lost jobs) finish quickly.
            echo "# fv-worker: short timeouts for the fault tests (docs/worker.md has the defaults)"
            echo "worker_visibility_timeout = 3"
            echo "worker_retry_delay = 1"
            echo "worker_sweep_interval = 2"
            echo "worker_sweep_age = 5"
            echo "analysis_time_limit = 60"
        fi
        if [[ -n ${FV_STACK_CONF_EXTRA:-} ]]; then
            echo "# from $FV_STACK_CONF_EXTRA"
            cat "$FV_STACK_CONF_EXTRA"
        fi
    } >"$FV_CONF.new" || return 1
    chown "root:$FV_USER" "$FV_CONF.new" && chmod 0640 "$FV_CONF.new" && mv "$FV_CONF.new" "$FV_CONF"
}

fv_render_nginx_conf() {
    local tpl out
    tpl=$(<"$FV_REPO/conf/nginx.conf.in") || return 1
    out=${tpl//@FV_LISTEN@/"127.0.0.1:$FV_HTTP_PORT"}
    out=${out//@FV_NGINX_DIR@/"$FV_NGINX_DIR"}
    out=${out//@FV_RUN_DIR@/"$FV_RUN"}
    out=${out//@FV_LOG_DIR@/"$FV_LOG"}
    out=${out//@FV_STATIC_DIR@/"$FV_SHARE_DIR/static"}
    out=${out//@FV_APP_SOCKET@/"$FV_APP_SOCK"}
    if [[ $out == *@FV_* ]]; then
        fv_warn "conf/nginx.conf.in has a placeholder I do not know: $(grep -o '@FV_[A-Z_]*@' <<<"$out" | sort -u | tr '\n' ' ')"
        return 1
    fi
    printf '%s\n' "$out" >"$FV_NGINX_DIR/nginx.conf"
}

# --- running things as the stack user ----------------------------------------------------------

# fv_as_user CMD...: runs CMD as the stack user, in the stack directory, with a clean environment
# (so FV_* or PG* variables of the caller cannot reach a daemon).
fv_as_user() {
    (cd "$FV_STACK_DIR" && exec setpriv --reuid="$FV_USER" --regid="$FV_USER" --init-groups -- \
        env -i PATH="$FV_PATH" HOME="$FV_STACK_DIR" LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC "$@")
}

# fv_pid_is PID NAME: is PID a live process whose name is NAME?
fv_pid_is() {
    fv_alive "$1" || return 1
    [[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]]
}

# fv_alive PID: does PID exist and is it not a zombie? (An exited daemon is re-parented to pid 1,
# which may take a while to reap it.)
fv_alive() {
    local st
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    st=$(sed -n 's/.*) \(.\).*/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}

# fv_pidfile_pids FILE: the pids listed in FILE, one per line (spawn-fcgi leaves no final newline).
fv_pidfile_pids() {
    [[ -f $1 ]] || return 0
    tr -s '[:space:]' '\n' <"$1" | grep -E '^[0-9]+$' || true
}

# fv_wait_gone SECONDS PID...: waits until every PID has exited; 1 if some are left.
fv_wait_gone() {
    local t=$(($1 * 10)) p alive
    shift
    while ((t-- > 0)); do
        alive=0
        for p in "$@"; do
            fv_alive "$p" && alive=1
        done
        ((alive)) || return 0
        sleep 0.1
    done
    return 1
}

# fv_stop_pids NAME PID...: TERM, wait up to 15 s, then KILL.
fv_stop_pids() {
    local name=$1
    shift
    [[ $# -gt 0 ]] || return 0
    kill -TERM "$@" 2>/dev/null || true
    if ! fv_wait_gone 15 "$@"; then
        fv_warn "$name did not stop within 15 s; killing it"
        kill -KILL "$@" 2>/dev/null || true
        fv_wait_gone 5 "$@" || return 1
    fi
}

fv_tail_log() {
    local f=$1 n=${2:-30}
    [[ -s $f ]] || return 0
    echo "---- last lines of $f ----"
    tail -n "$n" "$f" | sed 's/^/    /'
}

# --- PostgreSQL --------------------------------------------------------------------------------

fv_pg_pid() {
    local pid
    [[ -f $FV_PGDATA/postmaster.pid ]] || return 1
    pid=$(head -n 1 "$FV_PGDATA/postmaster.pid")
    fv_pid_is "$pid" postgres && echo "$pid"
}

fv_pg_init() {
    [[ -f $FV_PGDATA/PG_VERSION ]] && return 0
    fv_say "initialising PostgreSQL cluster in $FV_PGDATA"
    local locale=C.UTF-8
    locale -a 2>/dev/null | grep -qix 'c.utf-\?8' || locale=C
    fv_as_user "$FV_PG_BINDIR/initdb" -D "$FV_PGDATA" -U postgres -E UTF8 --locale="$locale" \
        --auth-local=trust --auth-host=reject >"$FV_LOG/initdb.log" 2>&1 || {
        fv_warn "initdb failed"
        fv_tail_log "$FV_LOG/initdb.log" >&2
        return 1
    }
    echo "include_if_exists = 'fertivision-stack.conf'" >>"$FV_PGDATA/postgresql.conf"
}

# Settings rewritten at every start, so a changed port or path takes effect.
fv_pg_write_conf() {
    {
        echo "# written by scripts/lib/stack.sh at every start"
        echo "listen_addresses = ''"
        echo "port = $FV_PG_PORT"
        echo "unix_socket_directories = '$FV_RUN'"
        echo "unix_socket_permissions = 0700"
        echo "max_connections = 100"
        echo "log_min_messages = warning"
        echo "log_line_prefix = '%m [%p] %q%u@%d '"
        if [[ $FV_STACK_KIND == test ]]; then
            echo "# throwaway test cluster: durability traded for speed"
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } >"$FV_PGDATA/fertivision-stack.conf" && chown "$FV_USER:$FV_USER" "$FV_PGDATA/fertivision-stack.conf"
}

fv_pg_start() {
    local pid
    if pid=$(fv_pg_pid); then
        fv_say "PostgreSQL already running (pid $pid)"
        return 0
    fi
    fv_pg_init || return 1
    fv_pg_write_conf || return 1
    fv_as_user "$FV_PG_BINDIR/pg_ctl" -D "$FV_PGDATA" -l "$FV_LOG/postgres.log" -w -t 60 start >/dev/null || {
        fv_warn "PostgreSQL did not start"
        fv_tail_log "$FV_LOG/postgres.log" >&2
        return 1
    }
    fv_say "PostgreSQL started (pid $(fv_pg_pid || echo '?'), socket dir $FV_RUN, port $FV_PG_PORT)"
}

fv_pg_stop() {
    local pid
    pid=$(fv_pg_pid) || {
        rm -f "$FV_RUN/.s.PGSQL.$FV_PG_PORT" "$FV_RUN/.s.PGSQL.$FV_PG_PORT.lock"
        return 0
    }
    fv_as_user "$FV_PG_BINDIR/pg_ctl" -D "$FV_PGDATA" -m fast -w -t 60 stop >/dev/null || {
        fv_warn "pg_ctl stop failed; signalling postgres (pid $pid)"
        kill -INT "$pid" 2>/dev/null || true
    }
    fv_wait_gone 30 "$pid" || {
        fv_warn "PostgreSQL (pid $pid) did not stop"
        return 1
    }
    fv_say "PostgreSQL stopped (pid $pid)"
}

# fv_psql DB ARGS...: psql as the superuser "postgres" over the stack's socket.
fv_psql() {
    local db=$1
    shift
    env -u PGHOST -u PGPORT -u PGUSER -u PGDATABASE -u PGOPTIONS -u PGSERVICE \
        psql -X -q -v ON_ERROR_STOP=1 -h "$FV_RUN" -p "$FV_PG_PORT" -U postgres -d "$db" "$@"
}

# Roles, database and pg_trgm, made by the superuser. Idempotent; run at every start.
#   fertivision_owner  LOGIN: owns the database "fertivision" and every table; runs the migrations
#                      (migrate_database_url)
#   fv_app             NOLOGIN group role: the migrations grant it what the application may do
#   fertivision        LOGIN, member of fv_app: the application's login (database_url); owns nothing
# All of them connect over the stack's unix socket (trust, in a 0700 directory only the stack user
# and root can enter). A stack made before these roles existed had "fertivision" owning everything:
# that ownership moves to fertivision_owner here.
fv_pg_setup_db() {
    local have
    fv_psql postgres <<'SQL' || return 1
SET client_min_messages = warning;
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fertivision_owner') THEN
        CREATE ROLE fertivision_owner LOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fv_app') THEN
        CREATE ROLE fv_app NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fertivision') THEN
        CREATE ROLE fertivision LOGIN;
    END IF;
END $$;
ALTER ROLE fertivision_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE fv_app NOLOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE fertivision LOGIN INHERIT NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
GRANT fv_app TO fertivision;
SQL
    have=$(fv_psql postgres -At -c "select 1 from pg_database where datname = 'fertivision'") || return 1
    [[ $have == 1 ]] || fv_psql postgres -c "create database fertivision owner fertivision_owner" || return 1
    have=$(fv_psql fertivision -At -c "select
            (select datdba from pg_database where datname = current_database()) = 'fertivision'::regrole
            or exists (select 1 from pg_shdepend
                       where deptype = 'o' and refobjid = 'fertivision'::regrole
                         and dbid = (select oid from pg_database where datname = current_database()))") || return 1
    if [[ $have == t ]]; then
        fv_say "database 'fertivision': ownership moves from role fertivision to fertivision_owner"
        fv_psql fertivision -c "reassign owned by fertivision to fertivision_owner" || return 1
    fi
    fv_psql fertivision -c "set client_min_messages = warning" -c "create extension if not exists pg_trgm" \
        -c "grant connect on database fertivision to fv_app" || return 1
}

# --- Redis -------------------------------------------------------------------------------------

fv_redis_pid() {
    local pid
    pid=$(fv_pidfile_pids "$FV_REDIS_PID" | head -n 1)
    fv_pid_is "$pid" redis-server && echo "$pid"
}

fv_redis_cli() {
    env -u REDISCLI_AUTH redis-cli -s "$FV_REDIS_SOCK" "$@"
}

fv_redis_start() {
    local pid t
    if pid=$(fv_redis_pid); then
        fv_say "Redis already running (pid $pid)"
        return 0
    fi
    rm -f "$FV_REDIS_PID" "$FV_REDIS_SOCK"
    {
        echo "# written by scripts/lib/stack.sh at every start"
        echo "port 0"
        echo "unixsocket $FV_REDIS_SOCK"
        echo "unixsocketperm 700"
        echo "daemonize yes"
        echo "pidfile $FV_REDIS_PID"
        echo "logfile $FV_LOG/redis.log"
        echo "dir $FV_STACK_DIR/redis"
        if [[ $FV_STACK_KIND == test ]]; then
            echo 'save ""'
        else
            echo "save 60 1"
        fi
        echo "appendonly no"
    } >"$FV_STACK_DIR/redis/redis.conf" || return 1
    fv_as_user redis-server "$FV_STACK_DIR/redis/redis.conf" || {
        fv_warn "redis-server failed"
        fv_tail_log "$FV_LOG/redis.log" >&2
        return 1
    }
    for ((t = 0; t < 100; t++)); do
        [[ $(fv_redis_cli ping 2>/dev/null) == PONG ]] && break
        sleep 0.1
    done
    if ! pid=$(fv_redis_pid) || [[ $(fv_redis_cli ping 2>/dev/null) != PONG ]]; then
        fv_warn "Redis did not come up on $FV_REDIS_SOCK"
        fv_tail_log "$FV_LOG/redis.log" >&2
        return 1
    fi
    fv_say "Redis started (pid $pid, socket $FV_REDIS_SOCK)"
}

fv_redis_stop() {
    local pid
    if pid=$(fv_redis_pid); then
        fv_stop_pids Redis "$pid" || return 1
        fv_say "Redis stopped (pid $pid)"
    fi
    rm -f "$FV_REDIS_PID" "$FV_REDIS_SOCK"
}

# --- fv-app (spawn-fcgi) -----------------------------------------------------------------------

# The live fv-app pids of the pid file, on one line.
fv_app_pids() {
    local p out=()
    for p in $(fv_pidfile_pids "$FV_APP_PID"); do
        fv_pid_is "$p" fv-app && out+=("$p")
    done
    echo "${out[*]}"
}

fv_admin() {
    fv_as_user "$FV_BIN_DIR/fv-admin" --config "$FV_CONF" "$@"
}

# fv-admin migrate connects with migrate_database_url (role fertivision_owner).
fv_migrate() {
    fv_admin migrate >>"$FV_LOG/migrate.log" 2>&1 </dev/null || {
        fv_warn "fv-admin migrate failed"
        fv_tail_log "$FV_LOG/migrate.log" >&2
        return 1
    }
    fv_say "migrations applied (log $FV_LOG/migrate.log)"
}

# The audit trail's HMAC key (audit_key_file = keys/audit.key): made once with `fv-admin keygen`, as
# the stack user (mode 0600 in the 0700 keys/), and never replaced: a new key would make every row
# already in audit_events fail `fv-admin audit verify`. So when the file is missing but the trail
# has rows, this refuses and says how to go on. Needs PostgreSQL running.
fv_audit_key_ensure() {
    local keys=${FV_AUDIT_KEY%/*} rows owner mode out
    mkdir -p "$keys" && chown "$FV_USER:$FV_USER" "$keys" && chmod 0700 "$keys" || return 1
    if [[ -e $FV_AUDIT_KEY || -L $FV_AUDIT_KEY ]]; then
        if [[ -L $FV_AUDIT_KEY || ! -f $FV_AUDIT_KEY ]]; then
            fv_warn "$FV_AUDIT_KEY is not a regular file; move it away (it is never replaced automatically)"
            return 1
        fi
        read -r owner mode < <(stat -c '%U %a' "$FV_AUDIT_KEY") || return 1
        if [[ $owner != "$FV_USER" || ($mode != 600 && $mode != 400) ]]; then
            fv_say "audit key $FV_AUDIT_KEY: owner $owner mode $mode, set to $FV_USER 0600"
            chown "$FV_USER:$FV_USER" "$FV_AUDIT_KEY" && chmod 0600 "$FV_AUDIT_KEY" || return 1
        fi
        return 0
    fi
    rows=$(fv_psql fertivision -At -c "select to_regclass('public.audit_events') is not null") || return 1
    if [[ $rows == t ]]; then
        rows=$(fv_psql fertivision -At -c "select count(*) from (select 1 from audit_events limit 1) x") || return 1
    else
        rows=0
    fi
    if [[ $rows != 0 ]]; then
        fv_warn "the audit key $FV_AUDIT_KEY is missing but audit_events has rows: restore the key from a backup."
        fv_warn "(If it is lost for good: '$FV_STACK_DIR/ctl admin keygen $FV_AUDIT_KEY' makes a new one, and"
        fv_warn "'fv-admin audit verify' will then report every existing chain as edited.)"
        return 1
    fi
    # Its output is shown on failure only, and never written to a log.
    out=$(fv_admin keygen "$FV_AUDIT_KEY" </dev/null 2>&1) || {
        fv_warn "fv-admin keygen $FV_AUDIT_KEY failed: $out"
        return 1
    }
    read -r owner mode < <(stat -c '%U %a' "$FV_AUDIT_KEY" 2>/dev/null) || {
        fv_warn "fv-admin keygen made no $FV_AUDIT_KEY"
        return 1
    }
    [[ $owner == "$FV_USER" && $mode == 600 ]] || {
        fv_warn "fv-admin keygen made $FV_AUDIT_KEY with owner $owner mode $mode (expected $FV_USER 600)"
        return 1
    }
    fv_say "audit key created: $FV_AUDIT_KEY (back it up: the trail cannot be verified without it)"
}

# The documents' encryption keys (storage_keys_file = keys/storage.keys): made once with
# `fv-admin storage keygen` as the stack user; rotated with `ctl admin storage rotate` and
# `ctl admin storage rekey`, never replaced (stored documents need their keys).
fv_storage_keys_ensure() {
    local out
    [[ -f $FV_STORAGE_KEYS ]] && return 0
    out=$(fv_admin storage keygen </dev/null 2>&1) || {
        fv_warn "fv-admin storage keygen failed: $out"
        return 1
    }
    fv_say "storage keys created: $FV_STORAGE_KEYS (back them up: documents cannot be read without them)"
}

# spawn-fcgi binds the socket, then forks FV_APP_PROCS fv-app processes as the stack user, each
# with the socket on fd 0. It points their stdout/stderr at /dev/null, so a tiny sh in front of
# fv-app sends stderr (log_file = -, and any crash report) to log/fv-app.log, opened for appending.
fv_app_start() {
    local pids out
    pids=$(fv_app_pids)
    if [[ -n $pids ]]; then
        fv_say "fv-app already running (pids $pids)"
        return 0
    fi
    rm -f "$FV_APP_SOCK" "$FV_APP_PID"
    touch "$FV_LOG/fv-app.log" && chown "$FV_USER:$FV_USER" "$FV_LOG/fv-app.log" || return 1
    # shellcheck disable=SC2016 # "$0" "$1" "$2" are expanded by that sh
    out=$(cd "$FV_STACK_DIR" && env -i PATH="$FV_PATH" HOME="$FV_STACK_DIR" LANG=C.UTF-8 TZ=UTC \
        FV_CONFIG="$FV_CONF" \
        spawn-fcgi -s "$FV_APP_SOCK" -M 0600 -U "$FV_USER" -G "$FV_USER" \
        -u "$FV_USER" -g "$FV_USER" -d "$FV_STACK_DIR" -F "$FV_APP_PROCS" -P "$FV_APP_PID" -- \
        /bin/sh -c 'exec "$0" --config "$1" 2>>"$2"' \
        "$FV_BIN_DIR/fv-app" "$FV_CONF" "$FV_LOG/fv-app.log" 2>&1) || {
        fv_warn "spawn-fcgi failed: $out"
        fv_tail_log "$FV_LOG/fv-app.log" >&2
        return 1
    }
    sleep 0.3
    pids=$(fv_app_pids)
    if [[ $(wc -w <<<"$pids") -ne $FV_APP_PROCS ]]; then
        fv_warn "fv-app: $(wc -w <<<"$pids") of $FV_APP_PROCS processes are running"
        fv_tail_log "$FV_LOG/fv-app.log" >&2
        return 1
    fi
    fv_say "fv-app started: $FV_APP_PROCS processes (pids $pids) on $FV_APP_SOCK"
}

fv_app_stop() {
    local pids
    pids=$(fv_app_pids)
    if [[ -n $pids ]]; then
        # shellcheck disable=SC2086 # one pid per word
        fv_stop_pids fv-app $pids || return 1
        fv_say "fv-app stopped (pids $pids)"
    fi
    rm -f "$FV_APP_PID" "$FV_APP_SOCK"
}

# --- fv-worker ---------------------------------------------------------------------------------
# Workers run in numbered slots (1, 2, ...), each with its pid file run/fv-worker.SLOT.pid written by
# fv-worker itself (--pidfile) and removed when it exits. They log to log/fv-worker.log (FV_LOG_FILE,
# so SIGHUP reopens it after a rotation; stderr goes there too, for crash reports).

fv_worker_pidfile() {
    echo "$FV_RUN/fv-worker.$1.pid"
}

# fv_worker_pid SLOT: the pid of the live worker in SLOT.
fv_worker_pid() {
    local pid
    pid=$(fv_pidfile_pids "$(fv_worker_pidfile "$1")" | head -n 1)
    fv_pid_is "$pid" fv-worker && echo "$pid"
}

# fv_worker_slots: the slots that have a pid file, in order.
fv_worker_slots() {
    local f
    for f in "$FV_RUN"/fv-worker.*.pid; do
        [[ -f $f ]] || continue
        f=${f##*/fv-worker.}
        echo "${f%.pid}"
    done | sort -n
}

# "SLOT PID" of every live worker, one per line.
fv_worker_list() {
    local slot pid
    for slot in $(fv_worker_slots); do
        pid=$(fv_worker_pid "$slot") && echo "$slot $pid"
    done
}

fv_worker_pids() {
    fv_worker_list | awk '{ printf "%s%s", sep, $2; sep = " " } END { print "" }'
}

# fv_worker_start_one SLOT [FV_KEY=VALUE...]: the words after SLOT are configuration overrides.
fv_worker_start_one() {
    local slot=$1 pidfile pid t
    shift
    pidfile=$(fv_worker_pidfile "$slot")
    if pid=$(fv_worker_pid "$slot"); then
        return 0
    fi
    rm -f "$pidfile"
    touch "$FV_WORKER_LOG" && chown "$FV_USER:$FV_USER" "$FV_WORKER_LOG" || return 1
    # setsid: the worker leaves the caller's session and process group (a terminal's ^C or the
    # end of a test run must not reach it). OMP_THREAD_LIMIT=1: one core per worker process, and
    # no OpenMP thread pool in a process that forks.
    (cd "$FV_STACK_DIR" && exec setsid setpriv --reuid="$FV_USER" --regid="$FV_USER" --init-groups -- \
        env -i PATH="$FV_PATH" HOME="$FV_STACK_DIR" LANG=C.UTF-8 LC_ALL=C.UTF-8 TZ=UTC \
        OMP_THREAD_LIMIT=1 FV_LOG_FILE="$FV_WORKER_LOG" "$@" \
        "$FV_BIN_DIR/fv-worker" --config "$FV_CONF" --pidfile "$pidfile" \
        </dev/null >>"$FV_WORKER_LOG" 2>&1 &)
    for ((t = 0; t < 100; t++)); do
        pid=$(fv_worker_pid "$slot") && return 0
        sleep 0.1
    done
    fv_warn "fv-worker (slot $slot) did not start"
    fv_tail_log "$FV_WORKER_LOG" >&2
    return 1
}

# fv_worker_start [N [FV_KEY=VALUE...]]: N workers (default FV_WORKER_PROCS) in slots 1..N; starts
# the missing ones, with the given configuration overrides (tests: a worker with a short time limit).
fv_worker_start() {
    local n=${1:-$FV_WORKER_PROCS} slot e
    shift || true
    [[ $n =~ ^[0-9]+$ ]] || {
        fv_warn "start-worker: not a number of workers: $n"
        return 1
    }
    for e in "$@"; do
        [[ $e =~ ^FV_[A-Z0-9_]+= ]] || {
            fv_warn "start-worker: not a FV_KEY=VALUE override: $e"
            return 1
        }
    done
    for ((slot = 1; slot <= n; slot++)); do
        fv_worker_start_one "$slot" "$@" || return 1
    done
    fv_say "fv-worker: $(fv_worker_list | wc -l) running (pids $(fv_worker_pids)), log $FV_WORKER_LOG"
}

# fv_worker_stop [SLOT]: SIGTERM (the job in hand finishes), then waits up to FV_WORKER_STOP_WAIT
# seconds (default 90: more than a test stack's analysis_time_limit) before SIGKILL.
fv_worker_stop() {
    local slots pids=() slot pid wait=${FV_WORKER_STOP_WAIT:-90}
    if [[ -n ${1:-} ]]; then slots=$1; else slots=$(fv_worker_slots); fi
    for slot in $slots; do
        pid=$(fv_worker_pid "$slot") && pids+=("$pid")
    done
    if [[ ${#pids[@]} -gt 0 ]]; then
        kill -TERM "${pids[@]}" 2>/dev/null || true
        if ! fv_wait_gone "$wait" "${pids[@]}"; then
            fv_warn "fv-worker did not stop within $wait s; killing it"
            kill -KILL "${pids[@]}" 2>/dev/null || true
            fv_wait_gone 5 "${pids[@]}" || return 1
        fi
        fv_say "fv-worker stopped (pids ${pids[*]})"
    fi
    for slot in $slots; do
        fv_worker_pid "$slot" >/dev/null || rm -f "$(fv_worker_pidfile "$slot")"
    done
}

# fv_worker_kill SLOT [SIGNAL]: sends SIGNAL (default KILL) to the worker in SLOT, and does not
# wait (tests: a worker dying in the middle of a job, SIGTERM, SIGHUP).
fv_worker_kill() {
    local slot=${1:-} sig=${2:-KILL} pid
    pid=$(fv_worker_pid "$slot") || {
        fv_warn "no fv-worker is running in slot '$slot'"
        return 1
    }
    kill -s "$sig" "$pid" || return 1
    echo "$pid"
}

# fv_worker_cmd [FV_KEY=VALUE...] ARGS...: fv-worker --config STACK/fertivision.conf ARGS as the stack
# user, e.g. --analyze FILE; leading FV_*=VALUE words become its environment (config overrides).
fv_worker_cmd() {
    local envs=()
    while [[ $# -gt 0 && $1 =~ ^FV_[A-Z0-9_]+= ]]; do
        envs+=("$1")
        shift
    done
    fv_as_user env OMP_THREAD_LIMIT=1 "${envs[@]}" "$FV_BIN_DIR/fv-worker" --config "$FV_CONF" "$@"
}

# --- nginx -------------------------------------------------------------------------------------

fv_nginx_pid() {
    local pid
    pid=$(fv_pidfile_pids "$FV_NGINX_PID" | head -n 1)
    fv_pid_is "$pid" nginx && echo "$pid"
}

fv_nginx() {
    fv_as_user /usr/sbin/nginx -p "$FV_NGINX_DIR/" -c "$FV_NGINX_DIR/nginx.conf" -e "$FV_LOG/nginx-error.log" "$@"
}

fv_nginx_start() {
    local pid out t
    out=$(fv_nginx -t -q 2>&1) || {
        fv_warn "nginx configuration $FV_NGINX_DIR/nginx.conf is invalid: $out"
        return 1
    }
    if pid=$(fv_nginx_pid); then
        kill -HUP "$pid"
        fv_say "nginx already running (pid $pid); configuration reloaded"
        return 0
    fi
    if ! fv_port_free "$FV_HTTP_PORT"; then
        fv_warn "port $FV_HTTP_PORT is taken by another program; choose another with FV_HTTP_PORT"
        return 1
    fi
    rm -f "$FV_NGINX_PID"
    fv_nginx || {
        fv_warn "nginx did not start"
        fv_tail_log "$FV_LOG/nginx-error.log" >&2
        return 1
    }
    for ((t = 0; t < 50; t++)); do
        pid=$(fv_nginx_pid) && break
        sleep 0.1
    done
    [[ -n $pid ]] || {
        fv_warn "nginx wrote no pid file"
        return 1
    }
    fv_say "nginx started (pid $pid) on $FV_BASE_URL/"
}

fv_nginx_stop() {
    local pid
    if pid=$(fv_nginx_pid); then
        # QUIT = graceful: in-flight requests finish
        kill -QUIT "$pid" 2>/dev/null || true
        fv_wait_gone 15 "$pid" || fv_stop_pids nginx "$pid" || return 1
        fv_say "nginx stopped (pid $pid)"
    fi
    rm -f "$FV_NGINX_PID"
}

# --- the whole stack ---------------------------------------------------------------------------

# fv_wait_ready SECONDS: until GET /ready answers 200 through nginx.
fv_wait_ready() {
    local t=$(($1 * 5)) code=000
    while ((t-- > 0)); do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$FV_BASE_URL/ready" 2>/dev/null) || true
        [[ $code == 200 ]] && return 0
        sleep 0.2
    done
    fv_warn "$FV_BASE_URL/ready did not answer 200 within $1 s (last status: $code)"
    fv_tail_log "$FV_LOG/fv-app.log" 40 >&2
    fv_tail_log "$FV_LOG/nginx-error.log" 10 >&2
    return 1
}

fv_stack_start() {
    fv_pg_start || return 1
    fv_pg_setup_db || return 1
    fv_redis_start || return 1
    fv_audit_key_ensure || return 1
    fv_storage_keys_ensure || return 1
    fv_migrate || return 1
    fv_app_stop || return 1
    fv_app_start || return 1
    fv_worker_stop "" || return 1
    fv_worker_start "" || return 1
    fv_nginx_start || return 1
    fv_wait_ready "${FV_READY_TIMEOUT:-60}" || return 1
    fv_say "ready: $FV_BASE_URL/"
}

# Stops everything, in reverse order; carries on past a failure and reports it at the end.
fv_stack_stop() {
    local rc=0
    fv_nginx_stop || rc=1
    fv_app_stop || rc=1
    fv_worker_stop "" || rc=1
    fv_redis_stop || rc=1
    fv_pg_stop || rc=1
    return "$rc"
}

fv_stack_status() {
    local pid pids rc=0
    if pid=$(fv_pg_pid); then echo "postgres  running  pid $pid  socket dir $FV_RUN port $FV_PG_PORT"; else
        echo "postgres  stopped"
        rc=3
    fi
    if pid=$(fv_redis_pid); then echo "redis     running  pid $pid  socket $FV_REDIS_SOCK"; else
        echo "redis     stopped"
        rc=3
    fi
    pids=$(fv_app_pids)
    if [[ -n $pids ]]; then echo "fv-app    running  pids $pids  socket $FV_APP_SOCK"; else
        echo "fv-app    stopped"
        rc=3
    fi
    pids=$(fv_worker_pids)
    if [[ -n $pids ]]; then echo "fv-worker running  pids $pids  log $FV_WORKER_LOG"; else
        echo "fv-worker stopped"
        rc=3
    fi
    if pid=$(fv_nginx_pid); then echo "nginx     running  pid $pid  $FV_BASE_URL/"; else
        echo "nginx     stopped"
        rc=3
    fi
    return "$rc"
}
