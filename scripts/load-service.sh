#!/usr/bin/env bash
# Source it (after scripts/peers.sh): what the load benchmark (scripts/loadbench.sh) and
# the login profile (scripts/callgrind-login.sh) share: the service's settings, and
# stopping every process they start.

# Exports the settings the service runs under: `load_service_env MONGODB_URI STANDIN_PORT PORT`:
# MongoDB at MONGODB_URI, WorkOS at the stand-in on STANDIN_PORT, listening on
# 127.0.0.1:PORT, any state accepted, no rate limit, no metrics listener.
load_service_env() {
  export STORE=mongodb
  export MONGODB_URI=$1
  export JWT_SECRET="load-benchmark-secret-0123456789abcdef"
  export WORKOS_BASE_URL="http://127.0.0.1:$2"
  export WORKOS_API_KEY="sk_test_load"
  export WORKOS_CLIENT_ID="client_load"
  export ACCEPT_UNISSUED_STATE=true
  export RATE_LIMIT_PER_MINUTE=0
  export METRICS_PORT=0
  export HOST=127.0.0.1
  export PORT=$3
  export RUST_LOG="${RUST_LOG:-warn}"
}

# Stops each given process (those not started yet are empty words), then the peers.
load_stop() {
  local pid
  for pid in "$@"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  peers_stop
}
