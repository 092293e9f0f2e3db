#!/usr/bin/env bash
# Run AuthService locally: start PostgreSQL + Redis (services.sh), build, then serve.
# Usage: ./deploy/local/run.sh [--debug]   (--debug: debug build instead of release)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
cd "$here/../.."

profile=release
for arg in "$@"; do
  case $arg in
    --debug) profile=debug ;;
    -h | --help) sed -n '2,3s/^# //p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

# shellcheck source=deploy/local/services.sh
. "$here/services.sh" # starts the services and exports .env

# rustup's cargo is not on PATH in a shell that has not sourced ~/.cargo/env
[[ -n $(command -v cargo) || ! -x $HOME/.cargo/bin/cargo ]] || PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || svc_die "cargo not found: install Rust with rustup (https://rustup.rs)"

if [[ $profile == release ]]; then
  cargo build --release --bin authservice
else
  cargo build --bin authservice
fi
bin="${CARGO_TARGET_DIR:-target}/$profile/authservice"

base=${BASE_URL:-http://localhost:${PORT:-8080}}
base=${base%/}
# The key itself is not printed (it would end up in scrollback and logs): the curl reads it.
cat <<MSG

AuthService starts on $base (REST) and port ${GRPC_PORT:-9090} (gRPC); it is ready when $base/readyz answers.

  1. Create a first client (from another terminal, in $(pwd)):
     curl -sS -X POST $base/api/admin/clients -H "X-Admin-Key: \$(sed -n 's/^ADMIN_API_KEY=//p' .env)" -H 'Content-Type: application/json' -d '{"name":"My App","slug":"my-app","allowed_origins":["http://localhost:3000"]}'
  2. Hosted sign-in page: $base/login.html?api_key=<api_key from that answer>
  3. Operator portal:     $base/portal.html (sign in with ADMIN_API_KEY from .env)
  Stop: Ctrl-C here, or ./deploy/local/stop.sh (stops the server, PostgreSQL and Redis; data in .data/ is kept).

MSG
[[ $bin == */* ]] || bin="./$bin"
# stop.sh finds the server by this file (exec keeps the pid).
echo $$ >"$SVC_DATA/authservice.pid"
exec "$bin" serve
