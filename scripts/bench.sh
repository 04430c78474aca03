#!/usr/bin/env bash
# Benchmarks on the local peers (release build): starts SecantusDB and the WorkOS emulator
# like scripts/test.sh, runs `cargo bench -p tether-e2e --bench NAME`, stops the peers.
#
#   scripts/bench.sh               a login round trip (tests/bench/login.rs)
#   scripts/bench.sh offboarding   deprovisioning latency, polling and webhook
#                                  (tests/bench/offboarding.rs; BENCH_USERS, BENCH_POLL_SECONDS)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bench="${1:-login}"
case "$bench" in
  login | offboarding) ;;
  *) echo "usage: scripts/bench.sh [login|offboarding]" >&2; exit 2 ;;
esac

# shellcheck source=scripts/peers.sh
source scripts/peers.sh
peers_up

export RUST_LOG="${RUST_LOG:-warn}"
cargo bench -p tether-e2e --bench "$bench"
