#!/usr/bin/env bash
# Runs the whole test suite: validates deploy/, installs the real test peers (pinned, cached under
# .tools/), starts them on free local ports, runs every test, and stops the peers
# by pid, also when a test fails.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Deployment files first: static checks, seconds once the tools are installed.
scripts/check-deploy.sh

# shellcheck source=scripts/peers.sh
source scripts/peers.sh
peers_up
# shellcheck source=scripts/browser.sh
source scripts/browser.sh
browser_install
# shellcheck source=scripts/jose.sh
source scripts/jose.sh
jose_install

# The API against its OpenAPI document, and the document through a TypeScript client
# generator (full runs only: a subset names filters).
if [ "$#" -eq 0 ]; then
  scripts/api-check.sh
  scripts/ts-check.sh
fi

# Documentation examples, then every test; the main run's summary closes the output.
cargo test --workspace --doc --quiet
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast "$@"
else
  cargo test --workspace --no-fail-fast "$@"
fi
