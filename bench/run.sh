#!/usr/bin/env bash
# Benchmarks simgate on loopback against its built-in sandbox:
#   1. catalogue sync (download + store) of the whole eSIM Go sandbox catalogue;
#   2. catalogue search throughput (GET /v1/products?country=JP);
#   3. install-details and QR rendering throughput;
#   4. SIM card orders placed through the Telnyx sandbox, and their listing;
#   5. a subscriber line read through the ONSIM sandbox.
# Bounded: each load runs 10 s on 127.0.0.1 only. Needs `wrk` (apt-get install wrk).
# Writes bench/results.md.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || { echo "install wrk first: apt-get install wrk" >&2; exit 1; }

cargo build --release --quiet
BIN=target/release/simgate
WORK=$(mktemp -d)
PORT=18080
KEY=sk_sandbox_simgate
export SIMGATE_DATABASE_URL="sqlite://$WORK/bench.db"
export SIMGATE_LISTEN="127.0.0.1:$PORT"
export RUST_LOG=warn

# 1. Catalogue sync through the CLI, against the sandbox run alone.
$BIN sandbox --listen 127.0.0.1:17001 2>"$WORK/sandbox.log" &
SANDBOX=$!
PID=
trap 'kill $SANDBOX $PID 2>/dev/null; rm -rf "$WORK"' EXIT
until curl -s -o /dev/null "http://127.0.0.1:17001/"; do sleep 0.1; done
start=$(date +%s.%N)
SIMGATE_DATABASE_URL="sqlite://$WORK/sync.db" \
SIMGATE_PROVIDERS__ESIM_GO__BASE_URL=http://127.0.0.1:17001 \
SIMGATE_PROVIDERS__ESIM_GO__API_KEY=sandbox-esim-go-key \
  $BIN catalogue sync >"$WORK/sync.log" 2>&1
sync_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
products=$(grep -oE 'stored [0-9]+' "$WORK/sync.log" | tail -n 1 | cut -d' ' -f2)
kill $SANDBOX

# 2. The API under load, with its built-in sandbox.
$BIN serve --sandbox 2>"$WORK/serve.log" &
PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done
until curl -sf -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/providers" \
  | grep -q '"catalogue_products":[1-9]'; do sleep 0.1; done

product=$(curl -sf -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/products?country=JP&limit=1" \
  | sed -E 's/.*"id":"([^"]+)".*/\1/')
iccid=$(curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"product_id\":\"$product\"}" "http://127.0.0.1:$PORT/v1/orders" \
  | sed -E 's/.*"esims":\["([0-9]+)".*/\1/')

address=$(curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d '{"first_name":"Ada","last_name":"Lovelace","business_name":"Bench Ltd","street_address":"311 W Superior St","locality":"Chicago","country_code":"US"}' \
  "http://127.0.0.1:$PORT/v1/addresses" | sed -E 's/.*"id":"([^"]+)".*/\1/')
mpn=$(curl -sf -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/v1/numbers?state=reserved" \
  | sed -E 's/[^[]*\[\{"mpn":"([0-9]+)".*/\1/')
curl -sf -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"mpn\":\"$mpn\",\"uc\":\"own\"}" "http://127.0.0.1:$PORT/v1/lines"
# A POST of one SIM order per request (no Idempotency-Key: each is a new order).
cat >"$WORK/sim-order.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"address_id":"$address","quantity":2}'
wrk.headers["Content-Type"] = "application/json"
LUA

load() { # name path [wrk args...]
  local name=$1 path=$2
  shift 2
  wrk -t2 -c16 -d10s "$@" -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT$path" \
    | awk -v name="$name" '/Requests\/sec/ {rps=$2} /Latency/ {lat=$2} /Non-2xx/ {bad=$5}
        END {printf "| %s | %s | %s | %d |\n", name, rps, lat, bad}'
}

{
  echo "# simgate benchmarks"
  echo
  echo "Run by \`bench/run.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores, release build, SQLite, loopback only."
  echo
  echo "| measurement | value |"
  echo "|---|---|"
  echo "| \`simgate catalogue sync\` of the sandbox ($products products, download + store) | ${sync_s} s |"
  echo
  echo "wrk, 2 threads, 16 connections, 10 s each:"
  echo
  echo "| endpoint | requests/s | mean latency | non-2xx answers |"
  echo "|---|---|---|---|"
  load "GET /v1/products?country=JP&limit=50" "/v1/products?country=JP&limit=50"
  load "GET /v1/products?min_data_mb=10000&sort=-price" "/v1/products?min_data_mb=10000&sort=-price"
  load "GET /v1/esims/{iccid}" "/v1/esims/$iccid"
  load "GET /v1/esims/{iccid}/qr.png" "/v1/esims/$iccid/qr.png"
  load "POST /v1/sim-orders (written, then placed with the Telnyx sandbox)" "/v1/sim-orders" -s "$WORK/sim-order.lua"
  load "GET /v1/sim-orders?page_size=250 (after the POST run)" "/v1/sim-orders?page_size=250"
  load "GET /v1/lines/{mpn} (live from the ONSIM sandbox)" "/v1/lines/$mpn"
} | tee bench/results.md
