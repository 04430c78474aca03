#!/usr/bin/env bash
# Load benchmark of the release binary (not a timed test; see docs/benchmarks.md):
# builds `tether-auth` in release, starts SecantusDB (scripts/peers.sh), a fast WorkOS
# stand-in and the service, then drives returning logins, new-user logins and refreshes
# at a fixed concurrency for a fixed time (tests/bench/load.rs prints the figures).
#   LOAD_CONCURRENCY (default 32), LOAD_SECONDS (default 20 per phase),
#   LOAD_MONGODB_URI (a MongoDB server started by you, e.g. a faster one, instead of the
#   in-memory SecantusDB; give it without a database name; its `tether_load` database is used).
# Every process it starts is stopped by pid on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONCURRENCY="${LOAD_CONCURRENCY:-32}"
SECONDS_PER_PHASE="${LOAD_SECONDS:-20}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"

# shellcheck source=scripts/peers.sh
source scripts/peers.sh

echo "==> building the release binary and the load driver"
cargo build --release -p tether-auth
LOAD_BIN=$(cargo bench -p tether-e2e --bench load --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "load" and m.get("executable"):
        print(m["executable"])')
SERVICE_BIN="$TARGET_DIR/release/tether-auth"
[ -x "$LOAD_BIN" ] || { echo "load driver not built" >&2; exit 1; }

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/tether-loadbench.XXXXXX")
STANDIN_PID=""
SERVICE_PID=""
cleanup() {
  local pid
  for pid in $SERVICE_PID $STANDIN_PID; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  peers_stop
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${LOAD_MONGODB_URI:-}" ]; then
  MONGO_BASE_URI="${LOAD_MONGODB_URI%/}"
else
  peers_install_mongo
  peers_start_mongo "$LOGDIR"
  MONGO_BASE_URI="mongodb://127.0.0.1:$MONGO_PORT"
fi
MONGODB_URI="$MONGO_BASE_URI/tether_load"

STANDIN_PORT=$(peers_free_port)
"$LOAD_BIN" standin --port "$STANDIN_PORT" >"$LOGDIR/standin.log" 2>&1 &
STANDIN_PID=$!
peers_wait_port "$STANDIN_PORT" 30

SERVICE_PORT=$(peers_free_port)
export STORE=mongodb
export MONGODB_URI
export JWT_SECRET="load-benchmark-secret-0123456789abcdef"
export WORKOS_BASE_URL="http://127.0.0.1:$STANDIN_PORT"
export WORKOS_API_KEY="sk_test_load"
export WORKOS_CLIENT_ID="client_load"
export ACCEPT_UNISSUED_STATE=true
export RATE_LIMIT_PER_MINUTE=0
export METRICS_PORT=0
export HOST=127.0.0.1
export PORT="$SERVICE_PORT"
export RUST_LOG="${RUST_LOG:-warn}"

# New users join the oldest organization: create one.
"$SERVICE_BIN" organizations create --name "Load" >"$LOGDIR/organizations.log" 2>&1

"$SERVICE_BIN" serve >"$LOGDIR/service.log" 2>&1 &
SERVICE_PID=$!
peers_wait_port "$SERVICE_PORT" 60
echo "==> MongoDB at $MONGO_BASE_URI, stand-in on $STANDIN_PORT, tether-auth (pid $SERVICE_PID) on $SERVICE_PORT (logs in $LOGDIR)"

"$LOAD_BIN" drive \
  --base "http://127.0.0.1:$SERVICE_PORT" \
  --pid "$SERVICE_PID" \
  --concurrency "$CONCURRENCY" \
  --seconds "$SECONDS_PER_PHASE" \
  --mongodb-uri "$MONGO_BASE_URI" \
  --clk-tck "$(getconf CLK_TCK)"
