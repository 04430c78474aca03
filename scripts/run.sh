#!/usr/bin/env bash
# Runs tether-auth for real.
#
# - MONGODB_URI unset: the embedded in-memory store (non-persistent, logged loudly).
# - WORKOS_BASE_URL and WORKOS_API_KEY unset: a local WorkOS emulator (installed like
#   the test peers, under .tools/) seeded with a demo organization and users.
# - JWT_SECRET unset: a random secret for this run only.
# With real settings in the environment (or a TETHER_CONFIG file) it is the
# production service. Stops the emulator it started when the service stops.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/peers.sh
source scripts/peers.sh
trap 'peers_stop' EXIT
trap 'exit 130' INT TERM

demo=false
if [ -z "${WORKOS_BASE_URL:-}" ] && [ -z "${WORKOS_API_KEY:-}" ]; then
  demo=true
  peers_install
  mkdir -p .run
  peers_start_workos deploy/demo/workos-seed.json .run
  export WORKOS_BASE_URL="http://127.0.0.1:$WORKOS_PORT"
  export WORKOS_API_KEY="sk_test_default"
  export WORKOS_CLIENT_ID="${WORKOS_CLIENT_ID:-client_demo}"
  echo "==> WorkOS emulator (demo seed) on $WORKOS_BASE_URL"
fi
if [ -z "${JWT_SECRET:-}" ]; then
  JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
  export JWT_SECRET
  echo "==> JWT_SECRET not set: using a random secret for this run only"
fi
export PORT="${PORT:-3000}"

cargo build --release --quiet -p tether-auth

if [ "$demo" = true ]; then
  cat <<TXT

tether-auth: http://127.0.0.1:$PORT  (health: http://127.0.0.1:$PORT/health)

Complete a real SSO login as ada@demo.example (paste into another terminal):

  wo=\$(curl -s -o /dev/null -w '%{redirect_url}' 'http://127.0.0.1:$PORT/api/auth/workos/authorize?domain_hint=demo.example&login_hint=ada%40demo.example') && back=\$(curl -s -o /dev/null -w '%{redirect_url}' "\$wo") && code=\$(echo "\$back" | sed -E 's/.*[?&]code=([^&]*).*/\1/') && state=\$(echo "\$back" | sed -E 's/.*[?&]state=([^&]*).*/\1/') && curl -s -X POST http://127.0.0.1:$PORT/api/auth/workos/callback -H 'Content-Type: application/json' -d "{\"code\":\"\$code\",\"state\":\"\$state\"}"; echo

(AuthKit instead: replace the first URL's query with login_hint=grace%40demo.example)

TXT
fi

./target/release/tether-auth &
service=$!
PEER_PIDS+=("$service")
wait "$service"
