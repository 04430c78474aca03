#!/usr/bin/env bash
# Instructions per returning login, counted by callgrind (repeatable on a busy machine,
# unlike CPU time; see docs/benchmarks.md, "Where a returning login's CPU goes").
# Starts SecantusDB (scripts/peers.sh), a WorkOS stand-in answering POST /sso/token
# like `load standin` (code u7 is profile prof_u7, u7@load.example), and the service
# under `valgrind --tool=callgrind` with the load benchmark's settings and one HTTP
# worker; logs in 20 new users and 20 returning logins, then dumps the counters and
# drives PROFILE_N1 (default 200) and PROFILE_N2 (default 400) returning logins one at a
# time, dumping after each: callgrind.out.2 and .3 under OUT hold exactly those logins.
#   scripts/callgrind-login.sh [OUT]        # default: a fresh folder under TMPDIR
# PROFILE_BIN: the binary (default target/release/tether-auth; build it with
# CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=none for
# file and line names). Needs valgrind and Python 3. Every process it starts is stopped by pid.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN=$(readlink -f "${PROFILE_BIN:-${CARGO_TARGET_DIR:-target}/release/tether-auth}")
OUT=${1:-$(mktemp -d "${TMPDIR:-/tmp}/tether-callgrind.XXXXXX")}
N1=${PROFILE_N1:-200}
N2=${PROFILE_N2:-400}
mkdir -p "$OUT"
[ -x "$BIN" ] || { echo "no binary at $BIN" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }

# shellcheck source=scripts/peers.sh
source scripts/peers.sh
# shellcheck source=scripts/load-service.sh
source scripts/load-service.sh
STANDIN_PID=""
SERVICE_PID=""
# shellcheck disable=SC2086 # an empty pid is no word
cleanup() { load_stop $SERVICE_PID $STANDIN_PID; }
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$OUT/standin.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Standin(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            code = json.loads(body).get("code")
        except ValueError:
            code = None
        if self.path == "/sso/token" and code:
            status, answer = 200, {"token_type": "Bearer", "access_token": "standin", "profile": {
                "object": "profile", "id": f"prof_{code}", "email": f"{code}@load.example",
                "first_name": "Load", "last_name": code, "connection_id": "conn_load",
                "connection_type": "GenericSAML", "organization_id": None, "idp_id": f"idp_{code}"}}
        else:
            status, answer = 400, {"error": "invalid_grant", "error_description": "unknown path or no code"}
        out = json.dumps(answer, separators=(",", ":")).encode()
        self.send_response_only(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Standin).serve_forever()
PY
cat >"$OUT/drive.py" <<'PY'
# drive.py PORT N: N callbacks, one at a time on one keep-alive connection, codes u0..u19 in turn.
import http.client, json, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
failed = 0
for i in range(n):
    conn.request("POST", "/api/auth/workos/callback", body=json.dumps({"code": f"u{i % 20}"}),
                 headers={"content-type": "application/json"})
    res = conn.getresponse()
    if res.status != 200 or b"refreshToken" not in res.read():
        failed += 1
sys.exit(f"{failed} of {n} callbacks failed" if failed else 0)
PY

peers_install_mongo
peers_start_mongo "$OUT"
STANDIN_PORT=$(peers_free_port)
python3 "$OUT/standin.py" "$STANDIN_PORT" >"$OUT/standin.log" 2>&1 &
STANDIN_PID=$!
peers_wait_port "$STANDIN_PORT" 30

# The load benchmark's settings (scripts/loadbench.sh), one HTTP worker.
load_service_env "mongodb://127.0.0.1:$MONGO_PORT/tether_profile" "$STANDIN_PORT" "$(peers_free_port)"
export HTTP_WORKERS=1

"$BIN" organizations create --name Load >"$OUT/organizations.log" 2>&1
valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind.out" "$BIN" serve \
  >"$OUT/service.log" 2>"$OUT/valgrind.log" &
SERVICE_PID=$!
peers_wait_port "$PORT" 300

python3 "$OUT/drive.py" "$PORT" 40 # 20 new users, then 20 returning logins
callgrind_control -d warm-up "$SERVICE_PID" >/dev/null
python3 "$OUT/drive.py" "$PORT" "$N1"
callgrind_control -d "returning-$N1" "$SERVICE_PID" >/dev/null
python3 "$OUT/drive.py" "$PORT" "$N2"
callgrind_control -d "returning-$N2" "$SERVICE_PID" >/dev/null
kill -TERM "$SERVICE_PID"
wait "$SERVICE_PID" || true
SERVICE_PID=""

total() { sed -n 's/^summary: //p' "$1"; }
I1=$(total "$OUT/callgrind.out.2")
I2=$(total "$OUT/callgrind.out.3")
echo "instructions per returning login: $((I1 / N1)) ($N1 logins), $((I2 / N2)) ($N2 logins), $(((I2 - I1) / (N2 - N1))) (the difference)"
echo "profiles in $OUT: callgrind.out.2 ($N1 logins), callgrind.out.3 ($N2 logins)"
echo "  callgrind_annotate --inclusive=yes $OUT/callgrind.out.3"
echo "  python3 scripts/callgrind_groups.py $OUT/callgrind.out.3 $N2"
