#!/usr/bin/env bash
# Checks that docs/openapi.json serves TypeScript client generators: openapi-typescript
# generates the types, and tests/typescript/client.ts, a small client using them (a
# callback body, an exhaustive switch over a route's error codes, the closed sets of
# roles, flows and fallback behaviours), type-checks with `tsc --noEmit --strict`. A
# document that loses an enum (a code typed as any string) fails it.
# The npm tools are pinned and installed once into $TOOLS_DIR/ts-check.
# Called by scripts/test.sh (full runs); runs alone too: scripts/ts-check.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

OPENAPI_TYPESCRIPT_VERSION="7.13.0"
TYPESCRIPT_VERSION="5.9.3"

# shellcheck source=scripts/tools.sh
source scripts/tools.sh
PREFIX="$TOOLS_DIR/ts-check"
tools_npm "$PREFIX" "openapi-typescript@$OPENAPI_TYPESCRIPT_VERSION" "typescript@$TYPESCRIPT_VERSION"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tether-ts-check.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cp tests/typescript/client.ts "$WORK/client.ts"
echo "==> openapi-typescript docs/openapi.json, then tsc --noEmit tests/typescript/client.ts"
"$PREFIX/node_modules/.bin/openapi-typescript" docs/openapi.json --output "$WORK/openapi.ts" --silent
"$PREFIX/node_modules/.bin/tsc" --noEmit --strict --noUnusedLocals --target es2022 \
  --module esnext --moduleResolution bundler "$WORK/client.ts"
echo "    the generated types check"
