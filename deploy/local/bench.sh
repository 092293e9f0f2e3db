#!/usr/bin/env bash
# Benchmarks on this box: starts the services (services.sh), builds the release server and the
# load generator, runs the server with Argon2id (or BENCH_PASSWORD_HASH=bcrypt: bcrypt cost 12)
# and the per-IP limits lifted, measures its idle RSS, then runs tests/src/bin/bench.rs.
# Usage: ./deploy/local/bench.sh [seconds per phase, default 10]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
cd "$here/../.."
secs=${1:-10}

# shellcheck source=deploy/local/services.sh
. "$here/services.sh"

cargo build --release --locked -p authservice-server --bin authservice -p authservice-tests --bin bench
port=18080
grpc_port=19090
# BENCH_PASSWORD_HASH=bcrypt measures bcrypt (cost 12) instead of the default Argon2id.
hash=${BENCH_PASSWORD_HASH:-argon2id}
export BENCH_PASSWORD_HASH=$hash
PORT=$port GRPC_PORT=$grpc_port PASSWORD_HASH=$hash BCRYPT_COST=12 SIGNUP_RATE_LIMIT=1000000 LOGIN_RATE_LIMIT=1000000 \
  EMAIL_IP_RATE_LIMIT=1000000 EMAIL_CLIENT_RATE_LIMIT=10000000 SCIM_RATE_LIMIT=10000000 \
  LOG_FORMAT=json RUST_LOG=warn ./target/release/authservice serve >/tmp/authservice-bench.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
sleep 2
echo "server idle RSS: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
./target/release/bench "http://127.0.0.1:$port" "$ADMIN_API_KEY" "$secs" 12
echo "server RSS after the run: $(awk '/VmRSS/ {print $2, $3}' /proc/$pid/status)"
