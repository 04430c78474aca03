#!/usr/bin/env bash
# Source it: installs (once, cached under .tools/jose) Node's `jose`, pinned, the
# independent verifier through which the end-to-end tests check EdDSA and ES256 access
# tokens against the published JWKS, and exports its folder for them.

JOSE_VERSION="6.2.19"

jose_install() {
  local root dir
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  dir="${TOOLS_DIR:-$root/.tools}/jose"
  if ! grep -q "\"version\": \"$JOSE_VERSION\"" "$dir/node_modules/jose/package.json" 2>/dev/null; then
    echo "==> installing jose $JOSE_VERSION (independent JWT verifier) into $dir"
    mkdir -p "$dir"
    npm install --prefix "$dir" --no-audit --no-fund --loglevel=error --save-exact "jose@$JOSE_VERSION" >/dev/null
  fi
  export TETHER_TEST_JOSE="$dir"
}
