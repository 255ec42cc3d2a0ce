#!/usr/bin/env bash
# The cost of authentication and authorization (issue 12): requests per
# second and latency of `SELECT TOP 10 *` (TAP sync) and of a DataLink
# {links} request, anonymous, with HTTP Basic and with a bearer token (JWT,
# RS256), in one run against one server. Target: under 10 % overhead (a
# password's argon2id verification is cached per credential, a token's
# signature per token). Figures go to bench/README.md.
# Usage: bench/auth_bench.sh   (needs build/voserver, wrk, python3-jwt, python3-cryptography)
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
WORK=${BENCH_DIR:-/tmp/voserver-auth-bench}
rm -rf "$WORK" && mkdir -p "$WORK"
VS=${VOSERVER:-build/voserver}

# a key pair of a stand-in OpenID Connect provider, and a token it signed
/usr/bin/python3 - "$WORK" <<'PY'
import sys, time, jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
work = sys.argv[1]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
open(f"{work}/sso.pem", "wb").write(key.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
now = int(time.time())
open(f"{work}/token", "w").write(jwt.encode(
    {"iss": "https://sso.bench", "aud": "bench", "sub": "pi", "iat": now, "exp": now + 3600}, key, algorithm="RS256"))
PY

cat > "$WORK/bench.toml" <<TOML
[server]
host = "127.0.0.1"
port = 0
[archive]
authority = "bench"
database = "$WORK/store.sqlite"
[auth]
max_failed_logins = 1000000
[auth.jwt]
issuer = "https://sso.bench"
audience = "bench"
public_key = "$WORK/sso.pem"
[demo]
out_dir = "$WORK/cubes"
[limits]
max_queries_per_client = 64
[[collection]]
name = "phangs-muse"
directories = ["$WORK/cubes"]
release_date_keyword = "RELDATE"
TOML
"$VS" make-demo --config "$WORK/bench.toml" --nx 8 --ny 8 --nchan 50 > /dev/null
"$VS" ingest "$WORK/cubes" --collection phangs-muse --config "$WORK/bench.toml" > /dev/null
echo "pi-password" | "$VS" users add pi --config "$WORK/bench.toml" > /dev/null
"$VS" projects set-pi 112.VOSR.001 pi --config "$WORK/bench.toml" > /dev/null

trap 'kill ${SERVER_PIDS[*]} 2>/dev/null || true' EXIT
start_server "$VS" "$WORK/bench.toml" "$WORK"
BASE="http://127.0.0.1:$SERVER_PORT"
BASIC="Authorization: Basic $(printf 'pi:pi-password' | base64)"
BEARER="Authorization: Bearer $(cat "$WORK/token")"
TOP10="$BASE/tap/sync?LANG=ADQL&QUERY=SELECT%20TOP%2010%20*%20FROM%20ivoa.obscore"
LINKS="$BASE/datalink/sync?ID=ivo%3A%2F%2Fbench%2Fphangs-muse%3FNGC1087_PHANGS_DATACUBE_native"

run() {  # name url [header]
  local name=$1 url=$2; shift 2
  local args=()
  [ $# -gt 0 ] && args=(-H "$1")
  curl -sf "${args[@]}" -o /dev/null "$url" || { echo "$name: request failed"; exit 1; }
  local one many
  one=$(wrk -t1 -c1 -d8s --latency "${args[@]}" "$url" | awk '/ 50%/ {print $2}')
  many=$(wrk -t2 -c16 -d8s "${args[@]}" "$url" | awk '/Requests\/sec/ {print $2} /Non-2xx/ {print "NON-2XX:" $0}')
  printf "%-28s median (1 client) %8s   16 clients %s req/s\n" "$name" "$one" "$many"
}
for round in 1 2; do
  echo "== round $round"
  run "TOP 10 anonymous" "$TOP10"
  run "TOP 10 Basic" "$TOP10" "$BASIC"
  run "TOP 10 bearer (JWT)" "$TOP10" "$BEARER"
  run "DataLink anonymous" "$LINKS"
  run "DataLink Basic" "$LINKS" "$BASIC"
  run "DataLink bearer (JWT)" "$LINKS" "$BEARER"
done
