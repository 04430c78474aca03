#!/usr/bin/env bash
# Benchmarks a login round trip on the local peers (release build):
# starts SecantusDB and the WorkOS emulator like scripts/test.sh, runs
# `cargo bench -p tether-e2e --bench login`, stops the peers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/peers.sh
source scripts/peers.sh
peers_install
logdir=$(mktemp -d "${TMPDIR:-/tmp}/tether-bench.XXXXXX")
trap 'peers_stop' EXIT
trap 'exit 130' INT TERM
peers_start_mongo "$logdir"
peers_start_workos tests/fixtures/workos-seed.json "$logdir"
export TETHER_TEST_MONGODB_URI="mongodb://127.0.0.1:$MONGO_PORT"
export TETHER_TEST_WORKOS_URL="http://127.0.0.1:$WORKOS_PORT"
export TETHER_TEST_SECANTUSD="$SECANTUSD"
export RUST_LOG="${RUST_LOG:-warn}"
cargo bench -p tether-e2e --bench login
