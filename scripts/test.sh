#!/usr/bin/env bash
# Runs the whole test suite: installs the real test peers (pinned, cached under
# .tools/), starts them on free local ports, runs every test, and stops the peers
# by pid, also when a test fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/peers.sh
source scripts/peers.sh
peers_install

logdir=$(mktemp -d "${TMPDIR:-/tmp}/tether-test.XXXXXX")
trap 'peers_stop' EXIT
trap 'exit 130' INT TERM

peers_start_mongo "$logdir"
peers_start_workos tests/fixtures/workos-seed.json "$logdir"
echo "==> peers: SecantusDB on $MONGO_PORT, WorkOS emulator on $WORKOS_PORT (logs in $logdir)"

export TETHER_TEST_MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT"
export TETHER_TEST_WORKOS_URL="http://127.0.0.1:$WORKOS_PORT"
export TETHER_TEST_SECANTUSD="$SECANTUSD"

# Documentation examples first; the main run's summary closes the output.
cargo test --workspace --doc --quiet
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
