#!/usr/bin/env bash
# Installs (once, cached under .tools/) and starts the real test peers of tether-auth:
#   - SecantusDB, a MongoDB wire-protocol server (PyPI package, pinned)
#   - the WorkOS emulator shipped in WorkOS's official CLI (npm package `workos`, pinned)
# Source it, then call `peers_install` (or `peers_install_mongo` / `peers_install_workos`),
# `peers_start_mongo DIR`, `peers_start_workos SEED DIR`.
# PEERS_SECANTUS=rs (default py) makes `peers_install_mongo` / `peers_start_mongo` use
# SecantusDB's Rust daemon (crate `secantus-mdb`, built once with cargo) instead;
# PEERS_SECANTUS_ARGS adds flags to either daemon (e.g. --sync-on-commit).
# Every started process is recorded by pid so `peers_stop` can end exactly those.

SECANTUS_VERSION="0.7.0b3"
SECANTUS_RS_VERSION="0.5.3-beta.196"
WORKOS_CLI_VERSION="0.14.0"

_peers_root() { cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd; }
TOOLS_DIR="${TOOLS_DIR:-$(_peers_root)/.tools}"
SECANTUSD="$TOOLS_DIR/secantus/bin/secantusd-py"
SECANTUSD_RS="$TOOLS_DIR/secantus-rs/bin/secantusd-rs"
PEERS_SECANTUS="${PEERS_SECANTUS:-py}"
WORKOS_CLI="$TOOLS_DIR/workos/node_modules/.bin/workos"
PEER_PIDS=()

peers_install() {
  peers_install_mongo
  peers_install_workos
}

peers_install_mongo() {
  mkdir -p "$TOOLS_DIR"
  if [ "$PEERS_SECANTUS" = rs ]; then
    peers_install_mongo_rs
    return
  fi
  if ! "$TOOLS_DIR/secantus/bin/python" -c "import importlib.metadata as m; assert m.version('SecantusDB') == '$SECANTUS_VERSION'" 2>/dev/null; then
    echo "==> installing SecantusDB $SECANTUS_VERSION into $TOOLS_DIR/secantus"
    python3 -m venv "$TOOLS_DIR/secantus"
    "$TOOLS_DIR/secantus/bin/pip" install --quiet --disable-pip-version-check --pre "SecantusDB==$SECANTUS_VERSION"
  fi
}

# The Rust daemon: a cargo build (several minutes) of a crate that needs cmake.
peers_install_mongo_rs() {
  if [ -x "$SECANTUSD_RS" ]; then return 0; fi
  if ! command -v cmake >/dev/null; then
    echo "==> installing cmake (needed to build secantus-mdb)"
    if [ "$(id -u)" = 0 ]; then apt-get install -y cmake; else sudo apt-get install -y cmake; fi
  fi
  echo "==> building SecantusDB's Rust daemon (secantus-mdb $SECANTUS_RS_VERSION) into $TOOLS_DIR/secantus-rs"
  cargo install secantus-mdb --version "$SECANTUS_RS_VERSION" --locked --ignore-rust-version \
    --root "$TOOLS_DIR/secantus-rs"
}

peers_install_workos() {
  mkdir -p "$TOOLS_DIR"
  if [ ! -x "$WORKOS_CLI" ] || ! grep -q "\"version\": \"$WORKOS_CLI_VERSION\"" "$TOOLS_DIR/workos/node_modules/workos/package.json" 2>/dev/null; then
    echo "==> installing the WorkOS CLI $WORKOS_CLI_VERSION (emulator) into $TOOLS_DIR/workos"
    npm install --prefix "$TOOLS_DIR/workos" --no-audit --no-fund --loglevel=error "workos@$WORKOS_CLI_VERSION" >/dev/null
  fi
}

# A free TCP port on 127.0.0.1, chosen by the kernel.
peers_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Waits until host:port accepts TCP connections (at most $3 seconds, default 30).
peers_wait_port() {
  local port=$1 limit=${2:-30} i
  for ((i = 0; i < limit * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "peer on port $port did not open within ${limit}s" >&2
  return 1
}

# Starts SecantusDB: `peers_start_mongo LOGDIR [STORAGE [PORT]]`, in memory unless
# STORAGE names a directory (the Rust daemon always stores on disk: under LOGDIR by
# default), on a free port unless PORT is given. Sets MONGO_PORT and MONGO_PID and
# appends the pid; the log is appended to, so a restart keeps the first run's lines.
peers_start_mongo() {
  local logdir=$1 storage=${2:-} port=${3:-} extra=()
  MONGO_PORT=${port:-$(peers_free_port)}
  read -r -a extra <<<"${PEERS_SECANTUS_ARGS:-}"
  if [ "$PEERS_SECANTUS" = rs ]; then
    storage=${storage:-$logdir/secantus-data}
    mkdir -p "$storage"
    "$SECANTUSD_RS" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "$storage" --log-file-max 8MB \
      "${extra[@]}" >>"$logdir/secantusdb.log" 2>&1 &
  else
    "$SECANTUSD" --host 127.0.0.1 --port "$MONGO_PORT" --storage-path "${storage:-:memory:}" \
      "${extra[@]}" >>"$logdir/secantusdb.log" 2>&1 &
  fi
  MONGO_PID=$!
  PEER_PIDS+=("$MONGO_PID")
  peers_wait_port "$MONGO_PORT" 60
}

# SIGKILLs the SecantusDB started last (no shutdown of its own: a crash) and forgets it.
peers_kill_mongo() {
  local pid kept=()
  kill -KILL "$MONGO_PID" 2>/dev/null || true
  wait "$MONGO_PID" 2>/dev/null || true
  for pid in "${PEER_PIDS[@]}"; do
    if [ "$pid" != "$MONGO_PID" ]; then kept+=("$pid"); fi
  done
  PEER_PIDS=("${kept[@]}")
  MONGO_PID=""
}

# Starts the WorkOS emulator with a seed file on a free port; sets WORKOS_PORT and appends its pid.
peers_start_workos() {
  local seed=$1 logdir=$2
  WORKOS_PORT=$(peers_free_port)
  "$WORKOS_CLI" emulate --port "$WORKOS_PORT" --seed "$seed" --json >"$logdir/workos-emulator.log" 2>&1 &
  PEER_PIDS+=($!)
  peers_wait_port "$WORKOS_PORT" 60
}

# Installs both peers, starts them (logs in a fresh temporary folder; on exit the peers
# are stopped and the folder removed, or kept and named when the run failed) and
# exports the addresses the tests read.
peers_up() {
  peers_install
  PEERS_LOGDIR=$(mktemp -d "${TMPDIR:-/tmp}/tether-peers.XXXXXX")
  trap 'peers_exit $?' EXIT
  trap 'exit 130' INT TERM
  peers_start_mongo "$PEERS_LOGDIR"
  peers_start_workos tests/fixtures/workos-seed.json "$PEERS_LOGDIR"
  echo "==> peers: SecantusDB on $MONGO_PORT, WorkOS emulator on $WORKOS_PORT (logs in $PEERS_LOGDIR)"
  export TETHER_TEST_MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT"
  export TETHER_TEST_WORKOS_URL="http://127.0.0.1:$WORKOS_PORT"
  export TETHER_TEST_SECANTUSD="$SECANTUSD"
}

# The EXIT trap of `peers_up`: stops the peers; removes their logs unless the run failed.
peers_exit() {
  peers_stop
  if [ "$1" -eq 0 ]; then
    rm -rf "$PEERS_LOGDIR"
  else
    echo "==> peer logs kept in $PEERS_LOGDIR" >&2
  fi
}

peers_stop() {
  local pid
  for pid in "${PEER_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PEER_PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  PEER_PIDS=()
}
