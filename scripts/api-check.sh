#!/usr/bin/env bash
# Checks the API against its OpenAPI document:
#   1. docs/openapi.json is a valid OpenAPI 3.1 document (openapi-spec-validator);
#   2. schemathesis drives the running service (embedded in-memory store, WorkOS at
#      $TETHER_TEST_WORKOS_URL, the emulator scripts/test.sh starts) with a bounded
#      number of generated requests per operation: no 5xx, and every status, header,
#      content type and body conforms to the document. Its "schema validation
#      mismatch" notes on the callback (and the refresh) remain by nature: their valid
#      inputs are single-use (a WorkOS code, a refresh token), so generated ones are
#      refused.
# The Python tools are pinned and installed once into $TOOLS_DIR/api-check.
# Called by scripts/test.sh (full runs); runs alone too: scripts/api-check.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SCHEMATHESIS_VERSION="4.32.5"
OPENAPI_SPEC_VALIDATOR_VERSION="0.7.2"
MAX_EXAMPLES="${API_CHECK_MAX_EXAMPLES:-25}"

# shellcheck source=scripts/tools.sh
source scripts/tools.sh
VENV="$TOOLS_DIR/api-check"
tools_pip "$VENV" "schemathesis==$SCHEMATHESIS_VERSION" "openapi-spec-validator==$OPENAPI_SPEC_VALIDATOR_VERSION"

echo "==> openapi-spec-validator docs/openapi.json"
"$VENV/bin/openapi-spec-validator" docs/openapi.json

echo "==> building the debug binary (cargo build -p tether-auth): first run about 4 minutes on 2 cores,"
echo "    quiet; seconds once built"
cargo build --quiet -p tether-auth --bin tether-auth
BIN="${CARGO_TARGET_DIR:-target}/debug/tether-auth"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
LOG=$(mktemp "${TMPDIR:-/tmp}/tether-api-check.XXXXXX.log")
SERVICE_PID=""
# The service is stopped and its log removed however the script ends.
trap '[ -z "$SERVICE_PID" ] || { kill -TERM "$SERVICE_PID" 2>/dev/null; wait "$SERVICE_PID" 2>/dev/null; }; rm -f "$LOG"' EXIT
# Without the emulator, WorkOS is a closed port: callbacks that reach it answer 502.
WORKOS_URL="${TETHER_TEST_WORKOS_URL:-http://127.0.0.1:9}"
env -u MONGODB_URI STORE=memory HOST=127.0.0.1 PORT="$PORT" \
  JWT_SECRET="api-check-secret-api-check-secret-0123" \
  WORKOS_API_KEY=sk_test_default WORKOS_CLIENT_ID=client_api_check WORKOS_BASE_URL="$WORKOS_URL" \
  CLIENT_URL=http://localhost:5173 RATE_LIMIT_PER_MINUTE=0 REFRESH_RATE_LIMIT_PER_MINUTE=0 METRICS_PORT=0 LOG_FORMAT=json \
  MEMORY_SEED=tests/fixtures/api-check-store-seed.json \
  "$BIN" >"$LOG" 2>&1 &
SERVICE_PID=$!

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

# With the emulator, sign in (authorize -> WorkOS -> callback, as a browser would) so
# that requests carry a real access token and success answers are checked too: as a
# SALES_REP (jane, a new user) for the auth routes, and as the seed's SUPERADMIN (sam)
# for the organization routes, on the organization he belongs to.
sign_in() {
  python3 - "http://127.0.0.1:$PORT" "$1" <<'PY'
import json, sys, urllib.parse, urllib.request
api, email = sys.argv[1], sys.argv[2]
class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
query = urllib.parse.urlencode({"login_hint": email})
req = urllib.request.Request(f"{api}/api/auth/workos/authorize?{query}", headers={"Accept": "application/json"})
url = json.load(urllib.request.urlopen(req))["url"]
try:
    urllib.request.build_opener(NoRedirect).open(url)
    sys.exit("WorkOS did not redirect")
except urllib.error.HTTPError as e:
    back = urllib.parse.parse_qs(urllib.parse.urlsplit(e.headers["Location"]).query)
body = json.dumps({"code": back["code"][0], "state": back["state"][0]}).encode()
req = urllib.request.Request(f"{api}/api/auth/workos/callback", data=body, headers={"Content-Type": "application/json"})
answer = json.load(urllib.request.urlopen(req))
print(answer["token"], answer["user"]["accessRole"], answer["user"]["organizationId"], answer["refreshToken"], answer["user"]["id"])
PY
}
AUTH_ARGS=()
ADMIN_ARGS=()
ADMIN_CONFIG=()
REFRESH_CONFIG=()
OWN_ARGS=()
USERS_CONFIG=()
if [ -n "${TETHER_TEST_WORKOS_URL:-}" ]; then
  read -r TOKEN _ _ _ JANE_ID < <(sign_in jane@authkit.example)
  AUTH_ARGS=(-H "Authorization: Bearer $TOKEN")
  read -r ADMIN_TOKEN ADMIN_ROLE ADMIN_ORG _ _ < <(sign_in sam@authkit.example)
  if [ "$ADMIN_ROLE" != SUPERADMIN ]; then
    echo "sam@authkit.example signed in as $ADMIN_ROLE, not SUPERADMIN (tests/fixtures/api-check-store-seed.json)" >&2
    exit 1
  fi
  export API_CHECK_ORGANIZATION_ID="$ADMIN_ORG"
  ADMIN_CONFIG=(--config-file tests/fixtures/api-check-superadmin.toml)
  ADMIN_ARGS=(-H "Authorization: Bearer $ADMIN_TOKEN")
  # A session of its own for the refresh run: its token is rotated, then reused.
  read -r _ _ _ API_CHECK_REFRESH_TOKEN _ < <(sign_in jane@authkit.example)
  export API_CHECK_REFRESH_TOKEN
  REFRESH_CONFIG=(--config-file tests/fixtures/api-check-refresh.toml)
  # A session of its own for the run of one's own sessions: it may end itself.
  read -r OWN_TOKEN _ _ _ _ < <(sign_in jane@authkit.example)
  OWN_ARGS=(-H "Authorization: Bearer $OWN_TOKEN")
  # The SUPERADMIN administers jane (her sessions ended, her sign-in disabled): last.
  export API_CHECK_USER_ID="$JANE_ID"
  USERS_CONFIG=(--config-file tests/fixtures/api-check-users.toml)
fi

CHECKS=not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance
# CONFIG_ARGS: schemathesis's own options (a settings file), before `run`.
CONFIG_ARGS=()
schemathesis() {
  "$VENV/bin/schemathesis" "${CONFIG_ARGS[@]}" run "http://127.0.0.1:$PORT/api-docs/openapi.json" \
    --url "http://127.0.0.1:$PORT" \
    --checks "$CHECKS" \
    --phases examples,coverage,fuzzing \
    --max-examples "$MAX_EXAMPLES" \
    --max-redirects 0 \
    --request-timeout 10 \
    --seed 20261127 \
    --no-color "$@"
}
echo "==> schemathesis $SCHEMATHESIS_VERSION against http://127.0.0.1:$PORT (at most $MAX_EXAMPLES examples per operation)"
# The organization and link-request routes as the SUPERADMIN (on his organization);
# refresh with a real refresh token; the others as a user; logout on its own: it would
# end the session of the token the others use. Then one's own sessions with a session
# of their own (they end the others' too), and last the users' routes as the SUPERADMIN
# on jane, whom they sign out and may disable. (One --exclude-path-regex: of several,
# schemathesis keeps the last.)
ADMIN_ROUTES='^/api/(organizations|identity-link-requests)(/|$)'
schemathesis --exclude-path /api/auth/logout --exclude-path /api/auth/refresh \
  --exclude-path-regex '^/api/(organizations|identity-link-requests|users)(/|$)|^/api/auth/sessions' \
  "${AUTH_ARGS[@]}"
CONFIG_ARGS=("${ADMIN_CONFIG[@]}")
schemathesis --include-path-regex "$ADMIN_ROUTES" "${ADMIN_ARGS[@]}"
CONFIG_ARGS=("${REFRESH_CONFIG[@]}")
schemathesis --include-path /api/auth/refresh
CONFIG_ARGS=()
schemathesis --include-path /api/auth/logout
schemathesis --include-path-regex '^/api/auth/sessions' "${OWN_ARGS[@]}"
CONFIG_ARGS=("${USERS_CONFIG[@]}")
schemathesis --include-path-regex '^/api/users/' "${ADMIN_ARGS[@]}"
