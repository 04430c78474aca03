#!/usr/bin/env bash
# Benchmarks a login round trip on the local peers (release build):
# starts SecantusDB and the WorkOS emulator like scripts/test.sh, runs
# `cargo bench -p tether-e2e --bench login`, stops the peers.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/peers.sh
source scripts/peers.sh
peers_up

export RUST_LOG="${RUST_LOG:-warn}"
cargo bench -p tether-e2e --bench login
