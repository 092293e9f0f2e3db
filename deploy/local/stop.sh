#!/usr/bin/env bash
# Stop the server started by run.sh, then the local PostgreSQL and Redis started by services.sh
# (data in .data/ is kept).
set -euo pipefail
# shellcheck source=deploy/local/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

pidfile="$SVC_DATA/authservice.pid"
if [[ -f $pidfile ]]; then
  pid=$(<"$pidfile")
  if [[ $pid =~ ^[0-9]+$ && $(cat "/proc/$pid/comm" 2>/dev/null) == authservice ]]; then
    svc_log "stopping the server (pid $pid; in-flight requests may finish)"
    kill -TERM "$pid" 2>/dev/null || true # it may have exited meanwhile
    for _ in {1..60}; do # SHUTDOWN_TIMEOUT_SECS (10 s by default) and some
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.5
    done
    ! kill -0 "$pid" 2>/dev/null || { svc_log "the server ignored SIGTERM: killing it"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$pidfile"
fi

svc_load_state || { svc_log "services.sh never ran here: nothing to stop"; exit 0; }

if [[ -n ${SVC_PG_DATA:-} ]] && svc_as_pg "$SVC_PG_BIN/pg_ctl" status -D "$SVC_PG_DATA" >/dev/null 2>&1; then
  svc_log "stopping PostgreSQL ($SVC_PG_DATA)"
  svc_as_pg "$SVC_PG_BIN/pg_ctl" stop -D "$SVC_PG_DATA" -m fast -w >/dev/null
else
  svc_log "PostgreSQL is not running"
fi

if [[ -n ${SVC_REDIS_PORT:-} ]]; then
  pass=
  if [[ -f $SVC_ENV ]]; then
    # shellcheck source=/dev/null
    . "$SVC_ENV"
    svc_parse_url "$(svc_env_value REDIS_URL)" && pass=$URL_PASS
  fi
  pid=
  [[ ! -f $SVC_REDIS_PIDFILE ]] || pid=$(<"$SVC_REDIS_PIDFILE")
  if svc_redis_ping "$SVC_REDIS_PORT" "$pass"; then
    svc_log "stopping Redis on 127.0.0.1:$SVC_REDIS_PORT"
    svc_redis_cli "$SVC_REDIS_PORT" "$pass" shutdown nosave >/dev/null
  elif [[ -n $pid && $(cat "/proc/$pid/comm" 2>/dev/null) == redis-server ]]; then
    svc_log "stopping Redis (pid $pid)" # password in .env no longer matches
    kill "$pid"
  else
    svc_log "Redis is not running"
  fi
  for _ in {1..20}; do # until the port is free, so a restart cannot race the old process
    (exec 3<>"/dev/tcp/127.0.0.1/$SVC_REDIS_PORT") 2>/dev/null || break
    sleep 0.5
  done
fi
