#!/usr/bin/env bash
# Load benchmark of the release binary (not a timed test; see docs/benchmarks.md):
# builds `tether-auth` in release, starts SecantusDB (scripts/peers.sh), a fast WorkOS
# stand-in and the service, then drives returning logins, new-user logins and refreshes
# at a fixed concurrency for a fixed time (tests/bench/load.rs prints the figures).
#   LOAD_CONCURRENCY (default 32), LOAD_SECONDS (default 20 per phase),
#   LOAD_MONGODB_URI (a MongoDB server started by you, e.g. a faster one, instead of the
#   in-memory SecantusDB; give it without a database name; its `tether_load` database is used),
#   LOAD_SECANTUS=rs (SecantusDB's Rust daemon, built once with cargo, instead of the Python one),
#   LOAD_SERVICE_BIN (a tether-auth binary built elsewhere, e.g. of an earlier commit, to
#   measure instead of this checkout's release build),
#   LOAD_JWT_ALG (HS256, the default: JWT_SECRET signs; EdDSA or ES256: a key made by
#   `tether-auth keys generate` is the one active key of JWT_SIGNING_KEYS).
# Chaos runs (one phase of mixed traffic, pass/fail checks, non-zero exit on failure):
#   LOAD_CHAOS=mongo-restart: SecantusDB (on disk, with --sync-on-commit) is SIGKILLed
#     LOAD_CHAOS_AT seconds into the run (default a third of LOAD_SECONDS) and restarted
#     LOAD_CHAOS_DOWN seconds later (default 5, longer than the service's 3 s MongoDB
#     time-out) on the same port and directory; the service must answer only 2xx or typed
#     503s, recover within LOAD_CHAOS_RECOVERY seconds (default 5) and create no duplicate
#     user.
#   LOAD_CHAOS=sigterm: the service gets SIGTERM LOAD_CHAOS_AT seconds into the run; every
#     request sent before it must be answered and the service must exit 0 within its 10 s
#     shutdown grace (plus LOAD_CHAOS_EXIT_MARGIN, default 5 s). LOAD_CHAOS_SIGNAL (default
#     TERM) sends another signal the same way, e.g. INT.
# Every process it starts is stopped by pid on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CONCURRENCY="${LOAD_CONCURRENCY:-32}"
SECONDS_PER_PHASE="${LOAD_SECONDS:-20}"
TARGET_DIR="${CARGO_TARGET_DIR:-target}"
CHAOS="${LOAD_CHAOS:-}"
export PEERS_SECANTUS="${LOAD_SECANTUS:-py}"
case "$CHAOS" in
  "" | mongo-restart | sigterm) ;;
  *) echo "LOAD_CHAOS=$CHAOS: expected mongo-restart or sigterm" >&2; exit 2 ;;
esac
case "${LOAD_JWT_ALG:=HS256}" in
  HS256 | EdDSA | ES256) ;;
  *) echo "LOAD_JWT_ALG=$LOAD_JWT_ALG: expected HS256, EdDSA or ES256" >&2; exit 2 ;;
esac
case "$PEERS_SECANTUS" in
  py | rs) ;;
  *) echo "LOAD_SECANTUS=$PEERS_SECANTUS: expected py or rs" >&2; exit 2 ;;
esac
# A write SecantusDB acknowledged must survive the SIGKILL, or lost writes would pass for
# the service's faults: without --sync-on-commit (like mongod with j:false) it loses the
# last few tens of milliseconds of them. PEERS_SECANTUS_ARGS= (set, empty) turns it off.
if [ "$CHAOS" = mongo-restart ]; then export PEERS_SECANTUS_ARGS="${PEERS_SECANTUS_ARGS---sync-on-commit}"; fi
if [ "$CHAOS" = mongo-restart ] && [ -n "${LOAD_MONGODB_URI:-}" ]; then
  echo "LOAD_CHAOS=mongo-restart kills and restarts the SecantusDB it starts: unset LOAD_MONGODB_URI" >&2
  exit 2
fi

# shellcheck source=scripts/peers.sh
source scripts/peers.sh
# shellcheck source=scripts/load-service.sh
source scripts/load-service.sh

echo "==> building the release binary and the load driver"
if [ -z "${LOAD_SERVICE_BIN:-}" ]; then cargo build --release -p tether-auth; fi
LOAD_BIN=$(cargo bench -p tether-e2e --bench load --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "load" and m.get("executable"):
        print(m["executable"])')
SERVICE_BIN="${LOAD_SERVICE_BIN:-$TARGET_DIR/release/tether-auth}"
[ -x "$LOAD_BIN" ] || { echo "load driver not built" >&2; exit 1; }

LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/tether-loadbench.XXXXXX")
STANDIN_PID=""
SERVICE_PID=""
DRIVER_PID=""
# shellcheck disable=SC2086 # an empty pid is no word
cleanup() { load_stop $DRIVER_PID $SERVICE_PID $STANDIN_PID; }
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "${LOAD_MONGODB_URI:-}" ]; then
  MONGO_BASE_URI="${LOAD_MONGODB_URI%/}"
else
  peers_install_mongo
  MONGO_STORAGE=""
  # A crash-and-restart needs the data on disk.
  if [ "$CHAOS" = mongo-restart ]; then MONGO_STORAGE="$LOGDIR/secantus-data"; fi
  peers_start_mongo "$LOGDIR" "$MONGO_STORAGE"
  MONGO_BASE_URI="mongodb://127.0.0.1:$MONGO_PORT"
fi
MONGODB_URI="$MONGO_BASE_URI/tether_load"

STANDIN_PORT=$(peers_free_port)
"$LOAD_BIN" standin --port "$STANDIN_PORT" >"$LOGDIR/standin.log" 2>&1 &
STANDIN_PID=$!
peers_wait_port "$STANDIN_PORT" 30

SERVICE_PORT=$(peers_free_port)
load_service_env "$MONGODB_URI" "$STANDIN_PORT" "$SERVICE_PORT"
if [ "$LOAD_JWT_ALG" != HS256 ]; then
  JWT_SIGNING_KEYS="[$("$SERVICE_BIN" keys generate --alg "$LOAD_JWT_ALG" --kid load --status active)]"
  export JWT_SIGNING_KEYS
fi

# New users join the oldest organization: create one.
"$SERVICE_BIN" organizations create --name "Load" >"$LOGDIR/organizations.log" 2>&1

"$SERVICE_BIN" serve >"$LOGDIR/service.log" 2>&1 &
SERVICE_PID=$!
peers_wait_port "$SERVICE_PORT" 60
echo "==> MongoDB at $MONGO_BASE_URI, stand-in on $STANDIN_PORT, tether-auth (pid $SERVICE_PID, $LOAD_JWT_ALG tokens) on $SERVICE_PORT (logs in $LOGDIR)"

if [ -z "$CHAOS" ]; then
  "$LOAD_BIN" drive \
    --base "http://127.0.0.1:$SERVICE_PORT" \
    --pid "$SERVICE_PID" \
    --concurrency "$CONCURRENCY" \
    --seconds "$SECONDS_PER_PHASE" \
    --mongodb-uri "$MONGO_BASE_URI" \
    --clk-tck "$(getconf CLK_TCK)"
  exit 0
fi

# A chaos run: the driver sends mixed traffic for LOAD_SECONDS and writes READY when it
# starts; this script strikes on a timer and appends `EVENT UNIX_MS` lines to EVENTS,
# which the driver reads at the end to judge each request by when it was sent.
CHAOS_AT="${LOAD_CHAOS_AT:-$((SECONDS_PER_PHASE / 3))}"
READY="$LOGDIR/chaos-ready"
EVENTS="$LOGDIR/chaos-events"
now_ms() { date +%s%3N; }
"$LOAD_BIN" chaos \
  --mode "$CHAOS" \
  --base "http://127.0.0.1:$SERVICE_PORT" \
  --pid "$SERVICE_PID" \
  --concurrency "$CONCURRENCY" \
  --seconds "$SECONDS_PER_PHASE" \
  --mongodb-uri "$MONGO_BASE_URI" \
  --recovery-seconds "${LOAD_CHAOS_RECOVERY:-5}" \
  --ready "$READY" \
  --events "$EVENTS" &
DRIVER_PID=$!
until [ -e "$READY" ]; do
  kill -0 "$DRIVER_PID" 2>/dev/null || break
  sleep 0.1
done
sleep "$CHAOS_AT"

# Whether PID (a child of this shell) has exited (a zombie until waited for).
exited() { [ ! -e "/proc/$1/stat" ] || [ "$(cut -d' ' -f3 <"/proc/$1/stat" 2>/dev/null || echo Z)" = Z ]; }

SCRIPT_OK=1
case "$CHAOS" in
  mongo-restart)
    echo "kill $(now_ms)" >>"$EVENTS"
    echo "==> SIGKILL to SecantusDB (pid $MONGO_PID) on port $MONGO_PORT"
    peers_kill_mongo
    sleep "${LOAD_CHAOS_DOWN:-5}"
    peers_start_mongo "$LOGDIR" "$MONGO_STORAGE" "$MONGO_PORT"
    echo "restart $(now_ms)" >>"$EVENTS"
    echo "==> SecantusDB back on port $MONGO_PORT (pid $MONGO_PID, same data directory)"
    ;;
  sigterm)
    SIGNAL="${LOAD_CHAOS_SIGNAL:-TERM}"
    echo "sigterm $(now_ms)" >>"$EVENTS"
    kill -s "$SIGNAL" "$SERVICE_PID"
    SIGNAL_MS=$(now_ms)
    LIMIT_MS=$((SIGNAL_MS + (10 + ${LOAD_CHAOS_EXIT_MARGIN:-5}) * 1000))
    while ! exited "$SERVICE_PID" && [ "$(now_ms)" -lt "$LIMIT_MS" ]; do sleep 0.05; done
    if exited "$SERVICE_PID"; then
      EXIT_MS=$(now_ms)
      SERVICE_RC=0
      wait "$SERVICE_PID" || SERVICE_RC=$?
      SERVICE_PID=""
      echo "exit $EXIT_MS" >>"$EVENTS"
    fi
    ;;
esac

DRIVER_RC=0
wait "$DRIVER_PID" || DRIVER_RC=$?
DRIVER_PID=""
if [ "$CHAOS" = sigterm ]; then
  if [ -n "$SERVICE_PID" ]; then
    echo "  [FAIL] the service did not exit within $((LIMIT_MS - SIGNAL_MS)) ms of SIG$SIGNAL (its grace is 10 s)"
    SCRIPT_OK=0
  elif [ "$SERVICE_RC" -ne 0 ]; then
    echo "  [FAIL] the service exited with status $SERVICE_RC, $((EXIT_MS - SIGNAL_MS)) ms after SIG$SIGNAL"
    SCRIPT_OK=0
  else
    echo "  [ok] the service exited 0, $((EXIT_MS - SIGNAL_MS)) ms after SIG$SIGNAL (grace 10 s)"
  fi
fi
echo "==> logs in $LOGDIR"
if [ "$DRIVER_RC" -ne 0 ] || [ "$SCRIPT_OK" -ne 1 ]; then
  echo "CHAOS RUN $CHAOS: FAILED"
  exit 1
fi
echo "CHAOS RUN $CHAOS: PASSED"
