#!/usr/bin/env bash
# Benchmarks simgate on loopback beside a bare axum JSON handler
# (crates/bench-baseline) measured in the same run, so that every
# throughput reads as a share of what axum and hyper alone reach on this
# machine at this moment (issue 11). It measures, with `serve --sandbox`
# (all five provider sandboxes in-process):
#   - catalogue search on SQLite and on PostgreSQL, at the sandbox's default
#     catalogue and at SIMGATE_BENCH_PRODUCTS products;
#   - install details and the QR PNG of an eSIM;
#   - order creation (each request a new order) on SQLite and PostgreSQL;
#   - gateway overhead: a usage read through simgate against the same read
#     made directly to the eSIM Go sandbox, one connection, p50 and p99;
#   - peak RSS (VmHWM) of each simgate process, sandboxes included.
# Throughput loads use 2 threads and 32 connections, like issue 11's table.
#
# Bounded: 127.0.0.1 only, each load SIMGATE_BENCH_SECONDS (default 10 s),
# about 6 minutes in all. Installs `wrk` with apt-get when missing, else
# `oha` with cargo. Writes bench/results.md (SIMGATE_BENCH_OUT to write
# elsewhere, e.g. for a short smoke run).
#
# Environment:
#   SIMGATE_BENCH_SECONDS   duration of each load, in seconds (default 10)
#   SIMGATE_BENCH_PRODUCTS  the larger catalogue size (default 25000), passed
#                           as `simgate serve --sandbox --catalogue-size N`;
#                           rows are skipped when simgate has no such flag
#   SIMGATE_BENCH_OUT       the results file (default bench/results.md)
#   SIMGATE_BENCH_PG_URL    PostgreSQL server (default
#                           postgres://postgres@127.0.0.1:5432); a throwaway
#                           database simgate_bench_<pid> is created on it
#   SIMGATE_BENCH_PG_PARAMS what simgate's PostgreSQL URL ends with (default
#                           ?sslmode=disable: the server is on loopback, where
#                           TLS protects nothing; one order load also runs
#                           with sqlx's default, sslmode=prefer, to show its cost)
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${SIMGATE_BENCH_SECONDS:-10}
LARGE=${SIMGATE_BENCH_PRODUCTS:-25000}
OUT=${SIMGATE_BENCH_OUT:-bench/results.md}
PG_SERVER=${SIMGATE_BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
PG_DB=simgate_bench_$$
PG_PARAMS=${SIMGATE_BENCH_PG_PARAMS-?sslmode=disable}
PORT=18080
ESIM_GO_PORT=18081
BASELINE_PORT=18090
SANDBOX_PORT=18091
KEY=sk_sandbox_simgate
ESIM_GO_KEY=sandbox-esim-go-key
API=http://127.0.0.1:$PORT
export RUST_LOG=warn

# The load tool: wrk from Debian, else oha from crates.io.
apt_install_wrk() {
  local sudo=
  ((EUID == 0)) || sudo="sudo -n"
  command -v apt-get >/dev/null || return 1
  $sudo apt-get install -y wrk >/dev/null 2>&1 \
    || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y wrk >/dev/null 2>&1; }
}
if command -v wrk >/dev/null; then
  TOOL=wrk
elif command -v oha >/dev/null; then
  TOOL=oha
elif apt_install_wrk; then
  TOOL=wrk
else
  cargo install --locked oha
  TOOL=oha
fi

cargo build --release --quiet -p simgate -p simgate-bench-baseline
BIN=target/release/simgate
WORK=$(mktemp -d)
BASELINE=
SIMGATE=
SANDBOX=
PG_CREATED=
cleanup() {
  for pid in $SIMGATE $BASELINE $SANDBOX; do
    kill "$pid" 2>/dev/null || continue
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n $PG_CREATED ]]; then
    psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# waits_for URL: until it answers 2xx, for at most a minute.
waits_for() {
  local url=$1
  for _ in $(seq 1 600); do
    curl -sf -o /dev/null "$url" && return 0
    sleep 0.1
  done
  echo "no answer from $url" >&2
  return 1
}

# measure CONNECTIONS URL [header...]: one load; prints
# "requests/s p50_ms p99_ms errors" (errors: non-2xx answers and socket
# errors). With BODY set, each request is a POST of it.
measure() {
  local connections=$1 url=$2 threads=2
  shift 2
  ((connections < 2)) && threads=1
  local args=()
  for header in "$@"; do args+=(-H "$header"); done
  if [[ $TOOL == wrk ]]; then
    if [[ -n ${BODY:-} ]]; then
      printf 'wrk.method = "POST"\nwrk.body = [[%s]]\nwrk.headers["Content-Type"] = "application/json"\n' \
        "$BODY" >"$WORK/post.lua"
      args+=(-s "$WORK/post.lua")
    fi
    wrk -t"$threads" -c"$connections" -d"${SECS}s" --timeout 10s --latency "${args[@]}" "$url" | awk '
      function ms(v) {
        if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0
        if (v ~ /s$/) return v * 1000; if (v ~ /m$/) return v * 60000; return v + 0
      }
      /^ *50%/ { p50 = ms($2) } /^ *99%/ { p99 = ms($2) } /Requests\/sec/ { rps = $2 }
      /Non-2xx/ { bad += $NF } /Socket errors/ { bad += $4 + $6 + $8 + $10 }
      END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, bad }'
  else
    [[ -n ${BODY:-} ]] && args+=(-m POST -d "$BODY" -H 'Content-Type: application/json')
    oha -z "${SECS}s" -c "$connections" -t 10s --no-tui --output-format json "${args[@]}" "$url" \
      | tr -d ' \n' | awk '
        function field(text, name) {
          if (!match(text, "\"" name "\":[-0-9.e+]+")) return 0
          return substr(text, RSTART + length(name) + 3, RLENGTH - length(name) - 3) + 0
        }
        {
          latency = substr($0, index($0, "\"latencyPercentiles\""))
          codes = ""
          if (index($0, "\"statusCodeDistribution\"")) {
            codes = $0; sub(/.*"statusCodeDistribution":\{/, "", codes); sub(/\}.*/, "", codes)
          }
          n = split(codes, pairs, ",")
          for (i = 1; i <= n; i++) {
            split(pairs[i], kv, ":"); gsub(/"/, "", kv[1])
            if (kv[1] !~ /^2/) bad += kv[2]
          }
          if (index($0, "\"errorDistribution\"")) {
            n = split(substr($0, index($0, "\"errorDistribution\"")), errors, ":")
            for (i = 3; i <= n; i++) bad += errors[i] + 0
          }
          printf "%.0f %.2f %.2f %d\n", field($0, "requestsPerSec"), field(latency, "p50") * 1000,
            field(latency, "p99") * 1000, bad
        }'
  fi
}

ROWS=$WORK/rows.md
NOTES=$WORK/notes.md
: >"$ROWS"
: >"$NOTES"
declare -A RPS

# load NAME UNIT CONNECTIONS URL [header...]: measures, keeps the figures
# for the table and shows them at once.
load() {
  local name=$1 unit=$2
  shift 2
  local rps p50 p99 errors
  read -r rps p50 p99 errors < <(measure "$@")
  RPS[$name]=$rps
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$rps" "$unit" "$p50" "$p99" "$errors" >>"$ROWS"
  printf '%-72s %8s %s  p50 %s ms  p99 %s ms  errors %s\n' "$name" "$rps" "$unit" "$p50" "$p99" "$errors" >&2
}

note() {
  echo "$*" >>"$NOTES"
  echo "$*" >&2
}

peak_rss_mb() {
  awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"
}

# The catalogue total simgate serves.
products() {
  curl -sf -H "Authorization: Bearer $KEY" "$API/v1/products?limit=1" \
    | sed -nE 's/.*"total":([0-9]+).*/\1/p'
}

# catalogues_synced: every provider with a catalogue has synced it.
catalogues_synced() {
  local providers wanted synced
  providers=$(curl -sf -H "Authorization: Bearer $KEY" "$API/v1/providers") || return 1
  wanted=$(grep -o '"catalogue"[],]' <<<"$providers" | wc -l)
  synced=$(grep -o '"catalogue_synced_at":"' <<<"$providers" | wc -l)
  ((wanted > 0 && synced >= wanted))
}

# start_simgate DATABASE_URL [serve args...]: serves with the in-process
# sandboxes and returns once every catalogue is synced; sets SIMGATE and
# SYNCED_PRODUCTS.
start_simgate() {
  local database=$1
  shift
  # One tenant on 32 connections is far above the per-tenant defaults of
  # [limits]: raised so the buckets are checked but never refuse.
  SIMGATE_LIMITS__REQUESTS__QUOTA=100000000 SIMGATE_LIMITS__REQUESTS__WINDOW_SECS=1 \
    SIMGATE_LIMITS__ORDER_CREATIONS__QUOTA=100000000 SIMGATE_LIMITS__ORDER_CREATIONS__WINDOW_SECS=1 \
  SIMGATE_DATABASE_URL=$database SIMGATE_LISTEN=127.0.0.1:$PORT \
    SIMGATE_SANDBOX__ESIM_GO_LISTEN=127.0.0.1:$ESIM_GO_PORT \
    "$BIN" serve --sandbox "$@" 2>>"$WORK/serve.log" &
  SIMGATE=$!
  for _ in $(seq 1 600); do
    if ! kill -0 "$SIMGATE" 2>/dev/null; then
      echo "simgate serve --sandbox $* stopped; the log ends:" >&2
      tail -n 20 "$WORK/serve.log" >&2
      return 1
    fi
    if catalogues_synced; then
      SYNCED_PRODUCTS=$(products)
      return 0
    fi
    sleep 0.2
  done
  echo "the catalogues did not sync within two minutes; the log ends:" >&2
  tail -n 20 "$WORK/serve.log" >&2
  return 1
}

stop_simgate() {
  kill "$SIMGATE"
  wait "$SIMGATE" 2>/dev/null || true
  SIMGATE=
}

# search_loads LABEL: the three catalogue searches.
search_loads() {
  local label=$1 auth="Authorization: Bearer $KEY"
  load "GET /v1/products?country=JP&limit=1 ($label)" requests/s 32 "$API/v1/products?country=JP&limit=1" "$auth"
  load "GET /v1/products?country=JP&limit=50 ($label)" requests/s 32 "$API/v1/products?country=JP&limit=50" "$auth"
  load "GET /v1/products?min_data_mb=10000&sort=-price ($label)" requests/s 32 \
    "$API/v1/products?min_data_mb=10000&sort=-price" "$auth"
}

# order_load LABEL: POST /v1/orders, each request a new order (no
# Idempotency-Key) of the first Japanese product, from the eSIM Go sandbox.
order_load() {
  local label=$1 product
  product=$(curl -sf -H "Authorization: Bearer $KEY" "$API/v1/products?country=JP&limit=1" \
    | sed -E 's/.*"id":"([^"]+)".*/\1/')
  BODY="{\"product_id\":\"$product\"}" load "POST /v1/orders, new order each ($label)" orders/s 32 \
    "$API/v1/orders" "Authorization: Bearer $KEY"
}

# rss_row LABEL: the simgate process's peak RSS so far.
rss_row() {
  RSS_ROWS+=("| peak RSS, simgate + five in-process sandboxes ($1) | $(peak_rss_mb "$SIMGATE") MB |")
}
RSS_ROWS=()

PG_OK=
if ! command -v psql >/dev/null; then
  note "PostgreSQL rows not measured: psql is not installed."
elif psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $PG_DB" >/dev/null 2>"$WORK/psql.log"; then
  PG_CREATED=1
  PG_OK=1
else
  note "PostgreSQL rows not measured: cannot create a database on $PG_SERVER ($(head -n 1 "$WORK/psql.log"))."
fi
recreate_pg() {
  psql "$PG_SERVER/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null
  psql "$PG_SERVER/postgres" -qc "CREATE DATABASE $PG_DB" >/dev/null
}

# The baseline, measured first and again last.
target/release/simgate-bench-baseline "127.0.0.1:$BASELINE_PORT" 2>"$WORK/baseline.log" &
BASELINE=$!
waits_for "http://127.0.0.1:$BASELINE_PORT/json"
load "bare axum JSON handler, GET /json (first)" requests/s 32 "http://127.0.0.1:$BASELINE_PORT/json"
load "bare axum handler, a page of 50 products, GET /json/page (first)" requests/s 32 \
  "http://127.0.0.1:$BASELINE_PORT/json/page"

# SQLite, default catalogue: searches, install details, orders, overhead.
start_simgate "sqlite://$WORK/bench.db"
DEFAULT_PRODUCTS=$SYNCED_PRODUCTS
label="SQLite, $DEFAULT_PRODUCTS products"
search_loads "$label"
product=$(curl -sf -H "Authorization: Bearer $KEY" "$API/v1/products?country=JP&limit=1" \
  | sed -E 's/.*"id":"([^"]+)".*/\1/')
iccid=$(curl -sf -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
  -d "{\"product_id\":\"$product\"}" "$API/v1/orders" | sed -E 's/.*"esims":\["([0-9]+)".*/\1/')
load "GET /v1/esims/{iccid} (SQLite)" requests/s 32 "$API/v1/esims/$iccid" "Authorization: Bearer $KEY"
load "GET /v1/esims/{iccid}/qr.png (SQLite)" requests/s 32 "$API/v1/esims/$iccid/qr.png" "Authorization: Bearer $KEY"
load "usage through simgate, GET /v1/esims/{iccid}/usage, 1 connection" requests/s 1 \
  "$API/v1/esims/$iccid/usage" "Authorization: Bearer $KEY"
load "the same read from the eSIM Go sandbox directly, 1 connection" requests/s 1 \
  "http://127.0.0.1:$ESIM_GO_PORT/esims/$iccid/bundles?includeUsed=true&limit=200" "X-API-Key: $ESIM_GO_KEY"
order_load "SQLite"
rss_row "$label"
stop_simgate

# PostgreSQL, default catalogue: searches and orders, then orders again
# over TLS (sqlx's default sslmode=prefer), as a server elsewhere would need.
if [[ -n $PG_OK ]]; then
  start_simgate "$PG_SERVER/$PG_DB$PG_PARAMS"
  label="PostgreSQL, $SYNCED_PRODUCTS products"
  search_loads "$label"
  order_load "PostgreSQL"
  rss_row "$label"
  stop_simgate
  if [[ -n $PG_PARAMS ]]; then
    recreate_pg
    start_simgate "$PG_SERVER/$PG_DB"
    order_load "PostgreSQL over TLS, sslmode=prefer"
    stop_simgate
  fi
fi

# The larger catalogue, when the sandbox can generate it.
if "$BIN" serve --help | grep -q -- '--catalogue-size'; then
  for backend in SQLite PostgreSQL; do
    if [[ $backend == SQLite ]]; then
      database="sqlite://$WORK/large.db"
    elif [[ -n $PG_OK ]]; then
      recreate_pg
      database="$PG_SERVER/$PG_DB$PG_PARAMS"
    else
      continue
    fi
    start_simgate "$database" --catalogue-size "$LARGE"
    label="$backend, $SYNCED_PRODUCTS products"
    if ((SYNCED_PRODUCTS * 10 < LARGE * 9)); then
      note "$backend run: asked the sandbox for $LARGE products, simgate serves $SYNCED_PRODUCTS."
    fi
    search_loads "$label"
    rss_row "$label, after the searches"
    stop_simgate
  done
  # The eSIM Go sandbox alone with the larger catalogue, after serving it
  # once page by page as a sync reads it: its share of the rows above.
  "$BIN" sandbox --provider esim-go --listen "127.0.0.1:$SANDBOX_PORT" --catalogue-size "$LARGE" \
    2>>"$WORK/serve.log" &
  SANDBOX=$!
  for page in $(seq 1 $((LARGE / 1000 + 1))); do
    for _ in $(seq 1 100); do
      curl -sf -o /dev/null -H "X-API-Key: $ESIM_GO_KEY" \
        "http://127.0.0.1:$SANDBOX_PORT/catalogue?perPage=1000&page=$page" && break
      sleep 0.1
    done
  done
  RSS_ROWS+=("| the eSIM Go sandbox alone, $LARGE bundles, after serving them once (its share of the rows above) | $(peak_rss_mb "$SANDBOX") MB |")
  kill "$SANDBOX"
  wait "$SANDBOX" 2>/dev/null || true
  SANDBOX=
else
  note "$LARGE-product rows not measured: sandbox cannot generate $LARGE products" \
    "(\`simgate serve --sandbox\` has no \`--catalogue-size\` option)."
fi

load "bare axum handler, a page of 50 products, GET /json/page (last)" requests/s 32 \
  "http://127.0.0.1:$BASELINE_PORT/json/page"
load "bare axum JSON handler, GET /json (last)" requests/s 32 "http://127.0.0.1:$BASELINE_PORT/json"

# The routing decision of an offer order (issue 9: under 50 µs at p99): the
# pure plan over five candidates with a per-country override and FX, timed
# 20,000 times in a release build (the ignored `routing_latency` test).
ROUTING=$(cargo test --release --quiet --locked -p simgate-domain --lib -- \
  --ignored routing_latency --nocapture 2>/dev/null | grep '^routing plan' || true)
BASELINE_RSS=$(peak_rss_mb "$BASELINE")

first=${RPS["bare axum JSON handler, GET /json (first)"]}
last=${RPS["bare axum JSON handler, GET /json (last)"]}
base=$(((first + last) / 2))
page_first=${RPS["bare axum handler, a page of 50 products, GET /json/page (first)"]}
page_last=${RPS["bare axum handler, a page of 50 products, GET /json/page (last)"]}
page_base=$(((page_first + page_last) / 2))
page_bytes=$(curl -sf -o /dev/null -w '%{size_download}' "http://127.0.0.1:$BASELINE_PORT/json/page")
through_p=$(awk -F'\t' '/usage through simgate/ { print $4, $5 }' "$ROWS")
direct_p=$(awk -F'\t' '/from the eSIM Go sandbox directly/ { print $4, $5 }' "$ROWS")
read -r through50 through99 <<<"$through_p"
read -r direct50 direct99 <<<"$direct_p"

commit=$(git rev-parse --short HEAD)
git diff --quiet HEAD -- crates Cargo.toml Cargo.lock || commit="$commit, with uncommitted changes"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
{
  echo "# simgate benchmarks"
  echo
  echo "Run by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC') at commit $commit;"
  echo "$(nproc) cores (${cpu:-unknown CPU}), release build, loopback only, $TOOL,"
  echo "$SECS s per load, 2 threads and 32 connections unless said otherwise."
  echo "Each figure is also a share of the bare axum JSON handler (\`crates/bench-baseline\`)"
  echo "measured in the same run: $first requests/s first, $last last, $base on average (100 %)."
  echo "simgate runs \`serve --sandbox\`: the five provider sandboxes live in its process."
  echo "It reaches PostgreSQL on loopback with \`${PG_PARAMS:-sslmode=prefer, the default}\` unless a row says otherwise."
  echo
  echo "| measurement | throughput | % of bare axum | p50 | p99 | errors |"
  echo "|---|---|---|---|---|---|"
  awk -F'\t' -v base="$base" '{
      printf "| %s | %s %s | %.1f %% | %s ms | %s ms | %s |\n", $1, $2, $3, base ? 100 * $2 / base : 0, $4, $5, $6
    }' "$ROWS"
  echo
  echo "Pages of 50 products against the bare handler serialising a page of 50 product-shaped"
  echo "objects ($page_bytes bytes) on each request: $page_first requests/s first, $page_last last,"
  echo "$page_base on average (100 %):"
  echo
  echo "| measurement | throughput | % of the bare page |"
  echo "|---|---|---|"
  awk -F'\t' -v base="$page_base" '/limit=50|sort=-price/ {
      printf "| %s | %s %s | %.1f %% |\n", $1, $2, $3, base ? 100 * $2 / base : 0
    }' "$ROWS"
  echo
  echo "Gateway overhead (usage of one eSIM, one connection, one request at a time):"
  echo
  echo "| | through simgate | eSIM Go sandbox directly | overhead |"
  echo "|---|---|---|---|"
  awk -v a="$through50" -v b="$direct50" 'BEGIN { printf "| p50 | %.2f ms | %.2f ms | %.2f ms |\n", a, b, a - b }'
  awk -v a="$through99" -v b="$direct99" 'BEGIN { printf "| p99 | %.2f ms | %.2f ms | %.2f ms |\n", a, b, a - b }'
  echo
  echo "Routing decision: ${ROUTING:-not measured (the routing_latency test did not run)}."
  echo
  echo "| process | peak RSS (VmHWM) |"
  echo "|---|---|"
  printf '%s\n' "${RSS_ROWS[@]}"
  echo "| bare axum JSON handler | $BASELINE_RSS MB |"
  if [[ -s $NOTES ]]; then
    echo
    sed 's/^/- /' "$NOTES"
  fi
  echo
  echo "Earlier runs, made with earlier versions of this script: [history.md](history.md)."
} >"$OUT"
cat "$OUT"
