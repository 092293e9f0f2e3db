#!/usr/bin/env bash
# First-run smoke (part of test.sh): what a new user does, from a clean state.
#  1. copies the working tree (tracked and untracked files, no .env, no .data) to a temporary
#     directory — a fresh clone as far as the scripts can tell;
#  2. runs the README's run command there in the background, exactly as documented
#     (--debug and CARGO_TARGET_DIR only reuse this checkout's build instead of a release build);
#  3. waits for /readyz, runs the first-client curl exactly as run.sh printed it (and checks the
#     README shows the same command), signs a user up and in with the returned API key;
#  4. stops everything with the documented stop command and checks the server is gone.
# The local PostgreSQL and Redis of this checkout are stopped first: the copy uses the same
# default ports. Usage: ./deploy/local/first-run-smoke.sh
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
repo="$(cd "$here/../.." && pwd -P)"
# shellcheck source=deploy/local/lib.sh
. "$here/lib.sh"

log() { printf '[first-run] %s\n' "$*" >&2; }
fail() {
  log "FAILED: $*"
  [[ ! -f ${out:-} ]] || { log "run.sh output (last 60 lines):"; tail -n 60 "$out" >&2; }
  exit 1
}

"$here/stop.sh" # this checkout's services hold the default ports

tmp=$(mktemp -d /tmp/authservice-first-run.XXXXXX)
copy="$tmp/authservice"
out="$tmp/run.log"
server=
cleanup() {
  local rc=$?
  # Whatever failed, the copy's server, PostgreSQL and Redis stop (they hold the default ports).
  if [[ -x $copy/deploy/local/stop.sh ]]; then
    (cd "$copy" && ./deploy/local/stop.sh) >/dev/null 2>&1 || true
  fi
  [[ -z $server ]] || kill -- "$server" 2>/dev/null || true
  # services.sh keeps PostgreSQL's files outside a directory user postgres cannot enter (named
  # by the hash of the resolved path, as services.sh computes it).
  rm -rf "/var/lib/authservice-dev/$(printf '%s' "$(cd "$copy" 2>/dev/null && pwd -P || echo "$copy")" | sha256sum | cut -c1-16)" "$tmp"
  exit "$rc"
}
trap cleanup EXIT

mkdir -p "$copy"
(cd "$repo" && git ls-files -z --cached --others --exclude-standard |
  tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$copy"
[[ ! -e $copy/.env && ! -e $copy/.data ]] || fail "the copy is not clean"

base=http://localhost:8080
! curl -fsS -o /dev/null --max-time 2 "$base/healthz" 2>/dev/null ||
  fail "something already answers on $base: stop it first (the first run serves there)"

log "starting ./deploy/local/run.sh --debug in $copy"
# A new user's environment: nothing of test.sh's exported .env leaks into the copy.
(cd "$copy" && exec env -i HOME="$HOME" PATH="$PATH" LANG=C.UTF-8 \
  ${RUSTUP_HOME:+RUSTUP_HOME="$RUSTUP_HOME"} ${CARGO_HOME:+CARGO_HOME="$CARGO_HOME"} \
  CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}" ./deploy/local/run.sh --debug) >"$out" 2>&1 &
server=$!

deadline=$((SECONDS + 1200)) # includes building the copy's crates
until curl -fsS -o /dev/null --max-time 2 "$base/readyz" 2>/dev/null; do
  kill -0 "$server" 2>/dev/null || fail "run.sh exited before the server was ready"
  ((SECONDS < deadline)) || fail "no answer from $base/readyz"
  sleep 1
done
log "ready: $base/readyz"

curl_line=$(sed -n 's/^ *\(curl -sS -X POST .*\/api\/admin\/clients .*\)$/\1/p' "$out")
[[ -n $curl_line ]] || fail "run.sh printed no first-client curl"
grep -qxF "$curl_line" <(sed 's/^ *//' "$repo/README.md") ||
  fail "README.md does not show the curl run.sh prints: $curl_line"
for what in "/login.html?api_key=" "/portal.html" "./deploy/local/stop.sh"; do
  grep -qF "$what" "$out" || fail "run.sh does not tell the user about $what"
done

created=$(cd "$copy" && bash -c "$curl_line") || fail "the first-client curl failed"
api_key=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["api_key"])' <<<"$created") ||
  fail "the first-client curl answered no api_key: $created"
log "first client created"

json() { python3 -c 'import json, sys; d = json.load(sys.stdin); print(d[sys.argv[1]])' "$1"; }
email="first.user@example.org"
password="Correct-Horse-Battery-42"
body=$(printf '{"email":"%s","password":"%s","token_transport":"json"}' "$email" "$password")
status=$(curl -sS -o "$tmp/signup.json" -w '%{http_code}' -X POST "$base/api/auth/signup" \
  -H "X-API-Key: $api_key" -H 'Content-Type: application/json' -d "$body")
[[ $status == 201 ]] || fail "signup answered $status: $(cat "$tmp/signup.json")"
status=$(curl -sS -o "$tmp/login.json" -w '%{http_code}' -X POST "$base/api/auth/login" \
  -H "X-API-Key: $api_key" -H 'Content-Type: application/json' -d "$body")
[[ $status == 200 ]] || fail "login answered $status: $(cat "$tmp/login.json")"
token=$(json access_token <"$tmp/login.json") || fail "login answered no access_token"
status=$(curl -sS -o "$tmp/me.json" -w '%{http_code}' "$base/api/auth/me" \
  -H "X-API-Key: $api_key" -H "Authorization: Bearer $token")
[[ $status == 200 ]] || fail "GET /api/auth/me answered $status"
grep -qF "$email" "$tmp/me.json" || fail "GET /api/auth/me is not the new user"
log "signed a user up and in"

(cd "$copy" && ./deploy/local/stop.sh) || fail "./deploy/local/stop.sh failed"
for _ in {1..40}; do
  kill -0 "$server" 2>/dev/null || break
  sleep 0.5
done
! kill -0 "$server" 2>/dev/null || fail "the server still runs after ./deploy/local/stop.sh"
! curl -fsS -o /dev/null --max-time 2 "$base/healthz" 2>/dev/null || fail "something still answers on $base"
server=
log "OK: run, first client, signup, login and stop work as the README says"
