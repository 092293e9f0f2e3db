#!/usr/bin/env bash
# Full local check: start PostgreSQL + Redis (services.sh), then fmt, clippy, the tests and the
# first-run smoke (first-run-smoke.sh: the README's run command in a clean copy of the tree).
# Usage: ./deploy/local/test.sh [-- <extra cargo test args>]
#   e.g. ./deploy/local/test.sh -- -p authservice-tests some_test -- --nocapture
# With extra cargo test arguments, or SKIP_FIRST_RUN=1, the first-run smoke is left out.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
cd "$here/../.."
[[ ${1:-} != -- ]] || shift # everything left goes to cargo test

start=$SECONDS
finish() {
  local rc=$? t=$((SECONDS - start)) verdict=OK
  ((rc == 0)) || verdict="FAILED (exit $rc)"
  printf '\n==> %s in %dm%02ds\n' "$verdict" $((t / 60)) $((t % 60)) >&2
}
trap finish EXIT
step() {
  printf '\n==> %s\n' "$*" >&2
  "$@"
}

# shellcheck source=deploy/local/services.sh
. "$here/services.sh" # starts the services and exports .env

[[ -n $(command -v cargo) || ! -x $HOME/.cargo/bin/cargo ]] || PATH="$HOME/.cargo/bin:$PATH"
command -v cargo >/dev/null || svc_die "cargo not found: install Rust with rustup (https://rustup.rs)"

# Third-party peers the tests check our output with (PyJWT verifies tokens against the live JWKS,
# Authlib's OAuth 2.0 client drives the machine endpoints).
python3 -m pip --version >/dev/null 2>&1 || svc_die "python3 with pip is required for the peer tests"
if ! python3 -c 'import jwt, cryptography, pyotp, authlib, requests, dnslib, saml2' 2>/dev/null; then
  step python3 -m pip install --quiet --disable-pip-version-check -r tests/peers/requirements.txt
fi

# Headless Chromium driven by playwright-core for the browser tests (passkeys).
browser_pkgs=()
command -v chromium >/dev/null || browser_pkgs+=(chromium)
command -v node >/dev/null || browser_pkgs+=(nodejs)
command -v npm >/dev/null || browser_pkgs+=(npm)
# pysaml2 (the second SAML IdP peer) signs through the xmlsec1 command.
command -v xmlsec1 >/dev/null || browser_pkgs+=(xmlsec1)
if ((${#browser_pkgs[@]})); then
  sudo=()
  ((EUID == 0)) || sudo=(sudo)
  step "${sudo[@]}" apt-get update
  step "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${browser_pkgs[@]}"
fi
if [[ ! -d tests/browser/node_modules/playwright-core || ! -d tests/browser/node_modules/axe-core || ! -d tests/browser/node_modules/openid-client || ! -d tests/browser/node_modules/oidc-provider || ! -d tests/browser/node_modules/xml-crypto || ! -d tests/browser/node_modules/samlify ]]; then
  step npm ci --prefix tests/browser --no-audit --no-fund
fi

step cargo fmt --all -- --check
step cargo clippy --workspace --all-targets --locked -- -D warnings

# Per-test databases (t_*) and their templates (tmpl_*) left by killed or failed runs.
if [[ -n ${SVC_PG_BIN:-} ]]; then
  filter="starts_with(datname, 't_') OR starts_with(datname, 'tmpl_')"
  n=$(svc_psql_admin -At -c "SELECT count(*) FROM pg_database WHERE $filter")
  if ((n > 0)); then
    printf '\n==> dropping %s leftover test database(s)\n' "$n" >&2
    svc_psql_admin <<SQL
SELECT format('ALTER DATABASE %I IS_TEMPLATE false', datname) FROM pg_database WHERE datistemplate AND ($filter)
\gexec
SELECT format('DROP DATABASE %I WITH (FORCE)', datname) FROM pg_database WHERE $filter
\gexec
SQL
  fi
fi

# First the unit tests (domain rules, use cases on in-memory ports, adapters): seconds, no
# services needed; then the end-to-end suite against PostgreSQL, Redis, SMTP and Chromium.
step cargo test --workspace --exclude authservice-tests --locked "$@"
step cargo test -p authservice-tests --locked "$@"

# Last: it stops this checkout's PostgreSQL and Redis (the clean copy uses the same ports).
if (($# == 0)) && [[ ${SKIP_FIRST_RUN:-} != 1 ]]; then
  step "$here/first-run-smoke.sh"
fi
