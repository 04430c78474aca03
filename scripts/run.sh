#!/usr/bin/env bash
# Runs tether-auth for real, in one of two modes:
#
# - Demo (neither WORKOS_BASE_URL nor WORKOS_API_KEY set): installs only the local WorkOS
#   emulator (under .tools/), seeds it with deploy/demo/workos-seed.json, runs on the
#   in-memory store (STORE=memory, unless MONGODB_URI is set) seeded with
#   deploy/demo/store-seed.json (ada@demo.example is SUPERADMIN), and invents a
#   JWT_SECRET for this run if none is set.
# - Production (WorkOS settings given): nothing is invented; a missing setting, e.g.
#   JWT_SECRET, stops it naming the setting.
#
# A busy port stops it before anything else (exit 2). The paste-ready login command is
# printed only once the service it started itself answers /ready. A bad setting stops
# it (exit 2) with the setting named. Ctrl-C stops the
# service and the emulator. TETHER_AUTH_BIN runs an already built binary instead of
# building the release one.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/peers.sh
source scripts/peers.sh
trap 'peers_stop' EXIT
trap 'exit 130' INT TERM

export PORT="${PORT:-3000}"
# A busy port stops it first, before anything is built or started (and before the
# readiness probe could be answered by whatever holds the port).
if ! python3 - "${HOST:-127.0.0.1}" "$PORT" <<'PY'
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
try:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    with socket.socket(family, kind, proto) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(address)
except OSError as e:
    sys.exit(f"run.sh: PORT: cannot listen on {host}:{port}: {e.strerror or e} "
             "(another tether-auth still running? stop it, or set PORT)")
PY
then
  exit 2
fi

demo=false
if [ -z "${WORKOS_BASE_URL:-}" ] && [ -z "${WORKOS_API_KEY:-}" ] && [ -z "${WORKOS_API_KEY_FILE:-}" ]; then
  demo=true
fi

bin="${TETHER_AUTH_BIN:-}"
if [ -z "$bin" ]; then
  echo "==> building tether-auth (release). First run: about 10 minutes on 2 cores (about 300 crates);"
  echo "    later runs take seconds. Cargo's progress follows."
  cargo build --release -p tether-auth --lib
  echo "==> linking target/release/tether-auth with whole-program optimisation (fat LTO): after a"
  echo "    change, about 2 minutes on 2 cores with no output; seconds when nothing changed"
  cargo build --release -p tether-auth --bin tether-auth
  bin="${CARGO_TARGET_DIR:-target}/release/tether-auth"
fi

if [ "$demo" = true ]; then
  echo "==> demo mode: local WorkOS emulator, in-memory store (nothing persists)"
  peers_install_workos
  mkdir -p .run
  peers_start_workos deploy/demo/workos-seed.json .run
  export WORKOS_BASE_URL="http://127.0.0.1:$WORKOS_PORT"
  export WORKOS_API_KEY="sk_test_default"
  export WORKOS_CLIENT_ID="${WORKOS_CLIENT_ID:-client_demo}"
  # Offboarding from the emulator's events within seconds: people deleted in it are
  # signed out at the next poll.
  export WORKOS_EVENTS_POLL_SECONDS="${WORKOS_EVENTS_POLL_SECONDS:-2}"
  echo "==> WorkOS emulator (demo seed) on $WORKOS_BASE_URL"
  if [ -z "${MONGODB_URI:-}" ] && [ -z "${MONGODB_URI_FILE:-}" ]; then
    export STORE="${STORE:-memory}"
  fi
  if [ "${STORE:-}" = memory ] && [ -z "${MEMORY_SEED:-}" ]; then
    # The demo organization is mapped to the emulator's "Demo Co", whose id the emulator
    # makes up at start: its SSO connection then vouches for ada@demo.example.
    demo_seed=".run/store-seed-$$.json"
    trap 'peers_stop; rm -f "$demo_seed"' EXIT
    python3 - "$WORKOS_BASE_URL" deploy/demo/store-seed.json >"$demo_seed" <<'PY'
import json, sys, urllib.request
base, seed_path = sys.argv[1], sys.argv[2]
request = urllib.request.Request(base + "/organizations?limit=100",
                                 headers={"Authorization": "Bearer sk_test_default"})
workos = {o["name"]: o["id"] for o in json.load(urllib.request.urlopen(request, timeout=10))["data"]}
seed = json.load(open(seed_path))
for org in seed["organizations"]:
    if org["name"] in workos:
        org["workosOrganizationId"] = workos[org["name"]]
json.dump(seed, sys.stdout, indent=2)
PY
    export MEMORY_SEED="$demo_seed"
  fi
  if [ -z "${JWT_SECRET:-}" ] && [ -z "${JWT_SECRET_FILE:-}" ]; then
    JWT_SECRET="$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')"
    export JWT_SECRET
    echo "==> demo mode: JWT_SECRET not set, using a random secret for this run only"
  fi
fi

# Every setting is validated before anything is announced.
if ! "$bin" check-config >/dev/null; then
  echo "run.sh: settings are invalid (see above); nothing started" >&2
  exit 2
fi

"$bin" serve &
service=$!
PEER_PIDS+=("$service")

# Whether process $1 holds the listening socket of TCP port $2 (Linux: /proc; where
# /proc has no socket table, the healthcheck alone decides).
owns_port() {
  python3 - "$1" "$2" <<'PY'
import os, sys
pid, port = sys.argv[1], int(sys.argv[2])
inodes = set()
tables = [t for t in ("/proc/net/tcp", "/proc/net/tcp6") if os.path.exists(t)]
if not tables:
    sys.exit(0)
for table in tables:
    with open(table) as f:
        for line in list(f)[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
try:
    links = {os.readlink(f"/proc/{pid}/fd/{fd}") for fd in os.listdir(f"/proc/{pid}/fd")}
except OSError:
    sys.exit(1)
sys.exit(0 if any(f"socket:[{i}]" in links for i in inodes) else 1)
PY
}

# Ready means: this script's own service answers /ready on HOST:PORT. A service that
# exits (busy port, unreachable database) ends the script with its exit code.
until kill -0 "$service" 2>/dev/null && owns_port "$service" "$PORT" && "$bin" healthcheck 2>/dev/null; do
  if ! kill -0 "$service" 2>/dev/null; then
    code=0
    wait "$service" || code=$?
    echo "run.sh: tether-auth stopped during start-up (exit $code); see its message above" >&2
    exit "$code"
  fi
  sleep 0.2
done

base="http://127.0.0.1:$PORT"
echo
echo "tether-auth is ready: $base  (health: $base/health, readiness: $base/ready)"
if [ "$demo" = true ]; then
  cat <<TXT

Complete a real SSO login as ada@demo.example (paste into another terminal):

  wo=\$(curl -s -o /dev/null -w '%{redirect_url}' '$base/api/auth/workos/authorize?domain_hint=demo.example&login_hint=ada%40demo.example') && back=\$(curl -s -o /dev/null -w '%{redirect_url}' "\$wo") && code=\$(echo "\$back" | sed -E 's/.*[?&]code=([^&]*).*/\1/') && state=\$(echo "\$back" | sed -E 's/.*[?&]state=([^&]*).*/\1/') && curl -s -X POST $base/api/auth/workos/callback -H 'Content-Type: application/json' -d "{\"code\":\"\$code\",\"state\":\"\$state\"}"; echo

ada@demo.example is SUPERADMIN in the demo store, so every route can be tried with her
token, e.g. the organization's session settings (organizationId is in the answer above):

  curl -s $base/api/organizations/<organizationId>/session-settings -H "Authorization: Bearer <token>"

(AuthKit instead: replace the first URL's query with login_hint=grace%40demo.example;
grace is a new user and joins Demo Sign-ups as SALES_REP: Demo Co is mapped to its WorkOS
organization, which only its own SSO joins.)

Offboarding: once grace has signed in, delete her in the emulator, as her company's IT
would; within about $WORKOS_EVENTS_POLL_SECONDS seconds her access token is refused (401 LOGIN_DISABLED) and her
refresh token too (403):

  id=\$(curl -s '$WORKOS_BASE_URL/user_management/users?email=grace%40demo.example' -H 'Authorization: Bearer sk_test_default' | sed -E 's/.*"id":"(user_[^"]*)".*/\1/') && curl -s -o /dev/null -w 'deleted in WorkOS: %{http_code}\n' -X DELETE "$WORKOS_BASE_URL/user_management/users/\$id" -H 'Authorization: Bearer sk_test_default'

  curl -s $base/api/auth/verify-token -H "Authorization: Bearer <grace's token>"

TXT
fi

wait "$service"
