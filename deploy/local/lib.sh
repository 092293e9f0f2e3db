# shellcheck shell=bash
# Helpers shared by deploy/local/*.sh. Sourced, never executed.

SVC_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"
SVC_DATA="$SVC_REPO/.data"          # git-ignored
SVC_ENV="$SVC_REPO/.env"            # git-ignored, the source of truth for ports and passwords
SVC_STATE="$SVC_DATA/services.env"  # where services.sh put PostgreSQL/Redis (read by test.sh, stop.sh)

svc_log() { printf '[local] %s\n' "$*" >&2; }
svc_die() { printf '[local] ERROR: %s\n' "$*" >&2; exit 1; }

# Run a command as the postgres OS user (Postgres refuses root). From / because postgres may not
# be allowed to read the caller's working directory. Non-root callers run their own cluster.
svc_as_pg() {
  if ((EUID == 0)); then
    (cd / && runuser -u postgres -- "$@")
  else
    "$@"
  fi
}

# Export the variables of .env into the current shell.
svc_export_env() {
  [[ -f $SVC_ENV ]] || svc_die "$SVC_ENV is missing; run deploy/local/services.sh"
  set -a
  # shellcheck source=/dev/null
  . "$SVC_ENV"
  set +a
}

# Load the SVC_PG_* / SVC_REDIS_* variables written by services.sh; fails if it never ran.
svc_load_state() {
  [[ -f $SVC_STATE ]] || return 1
  # shellcheck source=/dev/null
  . "$SVC_STATE"
}

# Value of NAME, or the content of the file named by NAME_FILE.
svc_env_value() {
  local name=$1 file_var="${1}_FILE"
  if [[ -n ${!name:-} ]]; then
    printf '%s' "${!name}"
  elif [[ -n ${!file_var:-} ]]; then
    [[ -r ${!file_var} ]] || svc_die "$file_var=${!file_var} is not readable"
    printf '%s' "$(<"${!file_var}")"
  fi
}

svc_urldecode() {
  if [[ $1 == *%* ]]; then
    python3 -c 'import sys, urllib.parse as u; sys.stdout.write(u.unquote(sys.argv[1]))' "$1"
  else
    printf '%s' "$1"
  fi
}

# shellcheck disable=SC2034 # URL_* are read by the callers
# svc_parse_url URL: sets URL_SCHEME URL_USER URL_PASS URL_HOST URL_PORT URL_DB (user, password
# and path percent-decoded; URL_PORT empty when absent). Fails if URL does not look like one.
svc_parse_url() {
  local re='^([A-Za-z][A-Za-z0-9+.-]*)://(([^:@/]*)(:([^@/]*))?@)?(\[[0-9A-Fa-f:.]*\]|[^:/?#]*)(:([0-9]*))?(/([^?#]*))?'
  [[ $1 =~ $re ]] || return 1
  local m=("${BASH_REMATCH[@]}")
  URL_SCHEME=${m[1]}
  URL_USER=$(svc_urldecode "${m[3]}")
  URL_PASS=$(svc_urldecode "${m[5]}")
  URL_HOST=${m[6]}
  URL_PORT=${m[8]}
  URL_DB=$(svc_urldecode "${m[10]}")
}

svc_is_loopback() {
  case $1 in 127.0.0.1 | localhost | ::1 | '[::1]') return 0 ;; *) return 1 ;; esac
}

# svc_redis_cli PORT PASSWORD ARGS...: redis-cli against 127.0.0.1:PORT (password kept off argv).
svc_redis_cli() {
  local port=$1 pass=$2 auth=()
  shift 2
  [[ -z $pass ]] || auth=("REDISCLI_AUTH=$pass")
  env "${auth[@]}" redis-cli -h 127.0.0.1 -p "$port" --no-auth-warning "$@"
}

# True if Redis on 127.0.0.1:PORT answers PONG with PASSWORD.
svc_redis_ping() {
  [[ $(svc_redis_cli "$1" "$2" ping 2>/dev/null) == PONG ]]
}

# psql as the postgres superuser over the unix socket of the local cluster (needs svc_load_state).
# shellcheck disable=SC2154 # SVC_PG_* come from $SVC_STATE
svc_psql_admin() {
  svc_as_pg "$SVC_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
    -h "$SVC_PG_SOCKET_DIR" -p "$SVC_PG_PORT" -U postgres -d postgres "$@"
}
