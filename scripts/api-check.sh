#!/usr/bin/env bash
# Checks the API against its OpenAPI document:
#   1. docs/openapi.json is a valid OpenAPI 3.1 document (openapi-spec-validator);
#   2. schemathesis drives the running service (embedded in-memory store, WorkOS at
#      $TETHER_TEST_WORKOS_URL, the emulator scripts/test.sh starts) with a bounded
#      number of generated requests per operation: no 5xx, and every status, header,
#      content type and body conforms to the document.
# The Python tools are pinned and installed once into $TOOLS_DIR/api-check.
# Called by scripts/test.sh (full runs); runs alone too: scripts/api-check.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SCHEMATHESIS_VERSION="4.32.5"
OPENAPI_SPEC_VALIDATOR_VERSION="0.7.2"
MAX_EXAMPLES="${API_CHECK_MAX_EXAMPLES:-25}"

TOOLS_DIR="${TOOLS_DIR:-$PWD/.tools}"
VENV="$TOOLS_DIR/api-check"
STAMP="$VENV/.installed-$SCHEMATHESIS_VERSION-$OPENAPI_SPEC_VALIDATOR_VERSION"
if [ ! -f "$STAMP" ]; then
  echo "==> installing schemathesis $SCHEMATHESIS_VERSION and openapi-spec-validator $OPENAPI_SPEC_VALIDATOR_VERSION into $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check \
    "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION"
  touch "$STAMP"
fi

echo "==> openapi-spec-validator docs/openapi.json"
"$VENV/bin/openapi-spec-validator" docs/openapi.json

cargo build --quiet -p tether-auth --bin tether-auth
BIN="${CARGO_TARGET_DIR:-target}/debug/tether-auth"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
LOG=$(mktemp "${TMPDIR:-/tmp}/tether-api-check.XXXXXX.log")
# Without the emulator, WorkOS is a closed port: callbacks that reach it answer 502.
WORKOS_URL="${TETHER_TEST_WORKOS_URL:-http://127.0.0.1:9}"
env -u MONGODB_URI STORE=memory HOST=127.0.0.1 PORT="$PORT" \
  JWT_SECRET="api-check-secret-api-check-secret-0123" \
  WORKOS_API_KEY=sk_test_default WORKOS_CLIENT_ID=client_api_check WORKOS_BASE_URL="$WORKOS_URL" \
  CLIENT_URL=http://localhost:5173 RATE_LIMIT_PER_MINUTE=0 LOG_FORMAT=json \
  "$BIN" >"$LOG" 2>&1 &
SERVICE_PID=$!
trap 'kill -TERM "$SERVICE_PID" 2>/dev/null || true; wait "$SERVICE_PID" 2>/dev/null || true' EXIT

for _ in $(seq 1 100); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/ready', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$SERVICE_PID" 2>/dev/null; then
    echo "the service did not start:" >&2
    cat "$LOG" >&2
    exit 1
  fi
  sleep 0.1
done

# With the emulator, sign in once (authorize -> WorkOS -> callback, as a browser would)
# so that requests carry a real access token and success answers are checked too.
AUTH_ARGS=()
if [ -n "${TETHER_TEST_WORKOS_URL:-}" ]; then
  TOKEN=$(python3 - "http://127.0.0.1:$PORT" <<'PY'
import json, sys, urllib.parse, urllib.request
api = sys.argv[1]
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
query = urllib.parse.urlencode({"login_hint": "jane@authkit.example"})
req = urllib.request.Request(f"{api}/api/auth/workos/authorize?{query}", headers={"Accept": "application/json"})
url = json.load(urllib.request.urlopen(req))["url"]
try:
    urllib.request.build_opener(NoRedirect).open(url)
    sys.exit("WorkOS did not redirect")
except urllib.error.HTTPError as e:
    back = urllib.parse.parse_qs(urllib.parse.urlsplit(e.headers["Location"]).query)
body = json.dumps({"code": back["code"][0], "state": back["state"][0]}).encode()
req = urllib.request.Request(f"{api}/api/auth/workos/callback", data=body, headers={"Content-Type": "application/json"})
print(json.load(urllib.request.urlopen(req))["token"])
PY
)
  AUTH_ARGS=(-H "Authorization: Bearer $TOKEN")
fi

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
schemathesis() {
  "$VENV/bin/schemathesis" run "http://127.0.0.1:$PORT/api-docs/openapi.json" \
    --checks "$CHECKS" \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --max-redirects 0 \
    --request-timeout 10 \
    --seed 20261127 \
    --no-color "$@"
}
echo "==> schemathesis $SCHEMATHESIS_VERSION against http://127.0.0.1:$PORT (at most $MAX_EXAMPLES examples per operation)"
# Logout last and on its own: it would end the session of the token the others use.
schemathesis --exclude-path /api/auth/logout "${AUTH_ARGS[@]}"
schemathesis --include-path /api/auth/logout
