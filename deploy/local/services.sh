#!/usr/bin/env bash
# Local dev services for AuthService: PostgreSQL on 127.0.0.1:55432 and Redis on 127.0.0.1:56379,
# data under .data/ (git-ignored), secrets in .env (generated from .env.example on first run;
# ports and passwords are read back from DATABASE_URL / REDIS_URL, so .env stays the truth).
# Installs missing Debian packages. Safe to run repeatedly; stop with deploy/local/stop.sh.
#   ./deploy/local/services.sh      start/check the services
#   . deploy/local/services.sh      same, then export the variables of .env into this shell

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  # Sourced: do the work in a child bash (so a failure cannot kill an interactive shell),
  # then export .env and load the service locations (SVC_*) here.
  bash "${BASH_SOURCE[0]}" || return
  # shellcheck source=deploy/local/lib.sh
  . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
  svc_export_env
  svc_load_state
  return 0
fi

set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DEFAULT_PG_PORT=55432
DEFAULT_REDIS_PORT=56379
WAIT_SECS=30

# ---------------------------------------------------------------- packages

dpkg_installed() {
  # shellcheck disable=SC2016 # ${Status} is a dpkg-query field
  [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == *' installed' ]]
}

pkg_present() {
  case $1 in
    postgresql) compgen -G '/usr/lib/postgresql/*/bin/pg_ctl' >/dev/null ;;
    redis-server) command -v redis-server >/dev/null && command -v redis-cli >/dev/null ;;
    pkg-config | python3) command -v "$1" >/dev/null ;;
    *) dpkg_installed "$1" ;;
  esac
}

install_packages() {
  local pkg missing=() sudo=()
  # (libxml2-dev, libxmlsec1-dev and libclang-dev build the SAML signature checks: samael's
  # xmlsec bindings.)
  for pkg in postgresql redis-server pkg-config ca-certificates python3 \
    libxml2-dev libxmlsec1-dev libclang-dev; do
    pkg_present "$pkg" || missing+=("$pkg")
  done
  ((${#missing[@]})) || return 0
  ((EUID == 0)) || sudo=(sudo)
  svc_log "installing Debian packages: ${missing[*]}"
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
}

# ---------------------------------------------------------------- .env

rand_hex() { # N random bytes as 2N hex chars
  if command -v openssl >/dev/null; then
    openssl rand -hex "$1"
  else
    python3 -c 'import secrets, sys; print(secrets.token_hex(int(sys.argv[1])))' "$1"
  fi
}

rand_b64url() { # N random bytes, base64url without padding
  if command -v openssl >/dev/null; then
    openssl rand -base64 "$1" | tr -d '\n=' | tr '+/' '-_'
    echo
  else
    python3 -c 'import secrets, sys; print(secrets.token_urlsafe(int(sys.argv[1])))' "$1"
  fi
}

write_env() {
  if [[ -f $SVC_ENV ]]; then
    chmod 600 "$SVC_ENV"
    return 0
  fi
  local example="$SVC_REPO/.env.example"
  [[ -f $example ]] || svc_die "$example is missing"
  svc_log "writing .env from .env.example with freshly generated secrets"
  local admin enc metrics pg_pw redis_pw tmp
  admin=$(rand_b64url 48)
  enc=$(rand_hex 32)
  metrics=$(rand_hex 32)
  pg_pw=$(rand_hex 24) # hex: nothing to escape in the URLs
  redis_pw=$(rand_hex 24)
  tmp=$(mktemp "$SVC_DATA/env.XXXXXX") # 0600, git-ignored if we die half-way
  # Replace KEY=... lines of the example (append keys it lacks); values travel via the environment.
  ADMIN_API_KEY=$admin ENCRYPTION_KEY=$enc METRICS_TOKEN=$metrics \
    DATABASE_URL="postgres://authservice:$pg_pw@127.0.0.1:$DEFAULT_PG_PORT/authservice" \
    REDIS_URL="redis://:$redis_pw@127.0.0.1:$DEFAULT_REDIS_PORT/0" \
    awk -v keys='ADMIN_API_KEY ENCRYPTION_KEY METRICS_TOKEN DATABASE_URL REDIS_URL' '
      BEGIN { n = split(keys, k, " "); for (i = 1; i <= n; i++) want[k[i]] = 1 }
      /^[A-Za-z_][A-Za-z0-9_]*=/ {
        key = $0; sub(/=.*/, "", key)
        if ((key in want) && !(key in done)) { print key "=" ENVIRON[key]; done[key] = 1; next }
      }
      { print }
      END { for (i = 1; i <= n; i++) if (!(k[i] in done)) print k[i] "=" ENVIRON[k[i]] }
    ' "$example" >"$tmp"
  chmod 600 "$tmp"
  mv "$tmp" "$SVC_ENV"
}

# ---------------------------------------------------------------- PostgreSQL

pg_bindir() { # bin dir of the cluster's major version if initialised, else the newest installed
  local ver
  if [[ -s $PG_DATA/PG_VERSION ]]; then
    ver=$(<"$PG_DATA/PG_VERSION")
    [[ -x /usr/lib/postgresql/$ver/bin/pg_ctl ]] ||
      svc_die "$PG_DATA is a PostgreSQL $ver cluster but /usr/lib/postgresql/$ver is not installed (install postgresql-$ver or remove $PG_DATA)"
    echo "/usr/lib/postgresql/$ver/bin"
  else
    printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n1
  fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_for() { # DESCRIPTION LOGFILE COMMAND...
  local what=$1 log=$2 deadline=$((SECONDS + WAIT_SECS))
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || svc_die "$what did not answer within ${WAIT_SECS}s; see $log"
    sleep 0.5
  done
}

setup_postgres() {
  { svc_parse_url "$DATABASE_URL" && [[ $URL_SCHEME == postgres || $URL_SCHEME == postgresql ]]; } ||
    svc_die "DATABASE_URL in .env is not a postgres:// URL"
  if ! svc_is_loopback "$URL_HOST"; then
    svc_log "DATABASE_URL points at $URL_HOST, not loopback: not managing a local PostgreSQL"
    return 0
  fi
  [[ -n $URL_USER && -n $URL_PASS && -n $URL_DB ]] ||
    svc_die "DATABASE_URL must carry user, password and database: postgres://user:pw@127.0.0.1:$DEFAULT_PG_PORT/db"
  local db_user=$URL_USER db_pass=$URL_PASS db_name=$URL_DB
  local pw_sql=${URL_PASS//"'"/"''"} # SQL string literal
  PG_PORT=${URL_PORT:-5432}

  # postgres must reach its data dir: with the repo under a private dir (e.g. /root), keep the
  # cluster under /var/lib/authservice-dev/<hash of repo path> instead.
  local base=$SVC_DATA
  if ((EUID == 0)) && ! svc_as_pg test -x "$SVC_DATA/"; then
    base=/var/lib/authservice-dev/$(printf '%s' "$SVC_REPO" | sha256sum | cut -c1-16)
    svc_log "user postgres cannot traverse to $SVC_DATA; PostgreSQL data, socket and log live in $base"
    install -d -m 755 /var/lib/authservice-dev "$base" "$base/log"
  fi
  PG_DATA=$base/pg
  PG_RUN=$base/run
  PG_LOG=$base/log/postgres.log
  PG_BIN=$(pg_bindir)

  local owner=()
  ((EUID != 0)) || owner=(-o postgres -g postgres)
  install -d "${owner[@]}" -m 700 "$PG_DATA"
  install -d "${owner[@]}" -m 755 "$PG_RUN"
  [[ -e $PG_LOG ]] || install "${owner[@]}" -m 640 /dev/null "$PG_LOG"
  [[ $base == "$SVC_DATA" ]] || ln -sfn "$PG_LOG" "$SVC_DATA/log/postgres.log" # readable by root

  if [[ ! -s $PG_DATA/PG_VERSION ]]; then
    svc_log "initialising PostgreSQL cluster in $PG_DATA"
    svc_as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
      --auth-local=trust --auth-host=scram-sha-256 >"$base/log/initdb.log" 2>&1 ||
      svc_die "initdb failed; see $base/log/initdb.log"
  fi

  if svc_as_pg "$PG_BIN/pg_ctl" status -D "$PG_DATA" >/dev/null 2>&1; then
    svc_log "PostgreSQL already running ($PG_DATA)"
  else
    ! port_open "$PG_PORT" || svc_die "port $PG_PORT is taken by another process (not the cluster in $PG_DATA)"
    svc_log "starting PostgreSQL $(basename "$(dirname "$PG_BIN")") on 127.0.0.1:$PG_PORT"
    # Dev/test data only: durability traded for speed (tests create many databases).
    svc_as_pg "$PG_BIN/pg_ctl" start -w -t "$WAIT_SECS" -D "$PG_DATA" -l "$PG_LOG" \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k '$PG_RUN' -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      >/dev/null 9>&- || svc_die "PostgreSQL did not start; see $PG_LOG"
  fi
  wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" "$PG_LOG" "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"

  # Role and database from DATABASE_URL; the password is (re)set every run so .env stays the truth.
  cat >"$SVC_STATE" <<EOF
SVC_PG_BIN=$(printf %q "$PG_BIN")
SVC_PG_DATA=$(printf %q "$PG_DATA")
SVC_PG_SOCKET_DIR=$(printf %q "$PG_RUN")
SVC_PG_PORT=$PG_PORT
SVC_PG_LOG=$(printf %q "$PG_LOG")
EOF
  svc_load_state
  svc_psql_admin -v role="$db_user" -v db="$db_name" <<SQL || svc_die "creating role/database failed; see $PG_LOG"
SELECT format('CREATE ROLE %I', :'role') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'role')
\gexec
ALTER ROLE :"role" LOGIN CREATEDB PASSWORD '$pw_sql';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'db')
\gexec
SQL
  # The server's own path: TCP + password.
  PGPASSWORD=$db_pass PGCONNECT_TIMEOUT=5 "$PG_BIN/psql" -X -At -h 127.0.0.1 -p "$PG_PORT" \
    -U "$db_user" -d "$db_name" -c 'select 1' >/dev/null ||
    svc_die "cannot log in as $db_user with the password from DATABASE_URL; see $PG_LOG"
  PG_SUMMARY="PostgreSQL 127.0.0.1:$PG_PORT db=$db_name user=$db_user data=$PG_DATA log=$PG_LOG"
}

# ---------------------------------------------------------------- Redis

setup_redis() {
  local url
  url=$(svc_env_value REDIS_URL)
  if [[ -z $url ]]; then
    svc_log "REDIS_URL is empty: the server uses its in-process store; not starting Redis"
    return 0
  fi
  { svc_parse_url "$url" && [[ $URL_SCHEME == redis ]]; } || svc_die "REDIS_URL in .env is not a redis:// URL"
  if ! svc_is_loopback "$URL_HOST"; then
    svc_log "REDIS_URL points at $URL_HOST, not loopback: not managing a local Redis"
    return 0
  fi
  [[ -z $URL_USER || $URL_USER == default ]] || svc_die "REDIS_URL: only the default user is supported locally"
  local port=${URL_PORT:-6379} pass=$URL_PASS
  local dir="$SVC_DATA/redis" log="$SVC_DATA/log/redis.log" pidfile="$SVC_DATA/redis/redis.pid" pid=
  install -d -m 700 "$dir"
  cat >>"$SVC_STATE" <<EOF
SVC_REDIS_PORT=$port
SVC_REDIS_PIDFILE=$(printf %q "$pidfile")
EOF

  if svc_redis_ping "$port" "$pass"; then
    svc_log "Redis already running on 127.0.0.1:$port"
  else
    [[ -f $pidfile ]] && pid=$(<"$pidfile")
    if [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server ]]; then
      svc_log "restarting our Redis (pid $pid): it does not accept the password in .env"
      kill "$pid"
      wait_for "Redis shutdown (pid $pid)" "$log" bash -c "! kill -0 $pid"
    fi
    ! port_open "$port" || svc_die "port $port is taken by another process that does not accept REDIS_URL's password"
    svc_log "starting Redis on 127.0.0.1:$port"
    local args=(--bind 127.0.0.1 --port "$port" --daemonize yes --pidfile "$pidfile"
      --logfile "$log" --dir "$dir" --save '' --appendonly no) # dev/test data: no persistence
    [[ -z $pass ]] || args+=(--requirepass "$pass")
    redis-server "${args[@]}" 9>&- || svc_die "redis-server did not start; see $log"
  fi
  wait_for "Redis on 127.0.0.1:$port" "$log" svc_redis_ping "$port" "$pass"
  REDIS_SUMMARY="Redis      127.0.0.1:$port log=$log"
}

# ---------------------------------------------------------------- main

install_packages
install -d -m 755 "$SVC_DATA" "$SVC_DATA/log"
exec 9>"$SVC_DATA/services.lock" # serialise concurrent runs (e.g. run.sh and test.sh)
flock -w 120 9 || svc_die "another services.sh still holds $SVC_DATA/services.lock"
write_env
# Plain shell variables here (not exported): the daemons started below need none of the secrets.
# shellcheck source=/dev/null
. "$SVC_ENV"
DATABASE_URL=$(svc_env_value DATABASE_URL)
[[ -n $DATABASE_URL ]] || svc_die "DATABASE_URL is not set in .env"
: >"$SVC_STATE"
PG_SUMMARY="PostgreSQL not managed" REDIS_SUMMARY="Redis      not managed"
setup_postgres
setup_redis
svc_log "$PG_SUMMARY"
svc_log "$REDIS_SUMMARY"
svc_log "settings and secrets: $SVC_ENV"
