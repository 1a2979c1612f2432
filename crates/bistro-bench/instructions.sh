#!/usr/bin/env bash
# Instructions a release server executes per page, counted by valgrind's
# callgrind: repeatable to a fraction of a percent for one binary and data
# set, whatever else the machine is doing, so two builds compare exactly
# where wrk's requests per second move by ±10 % between runs.
#
#   crates/bistro-bench/instructions.sh BIN WORKLOAD [CACHES] [PAGES]
#
# BIN: a release `bistro`; WORKLOAD: W1, W1-SQL or W3; CACHES: true (default) or
# false (`data.shared_caches`); PAGES: pages counted (default 50), sent one
# at a time after 20 warm-up pages. W3 counts checkouts instead (default
# 20 after 5 warm-up ones), each three cart additions and a checkout
# (`w3.py`, as the harness's W3 client). `BISTRO_*` variables set by the
# caller reach the server (traces or metrics on, say). PAIR=real (default: PostgreSQL + Redis,
# the harness's `bistro_bench` database and `bistro-bench:` keys) or
# PAIR=embedded (the harness's SQLite file, in-process store). Run the
# harness once first: it seeds both. KEEP=FILE keeps the profile, for
# `callgrind_annotate`.
set -euo pipefail
bin=$(realpath "$1"); workload=$2; caches=${3:-true}; pages=${4:-50}
root=$(cd "$(dirname "$0")/../.." && pwd)
case $workload in
  W1) document=$root/tests/operations/RestaurantPage.graphql ;;
  W1-SQL) document=$root/tests/operations/RestaurantPageSqlFields.graphql ;;
  W3) document=$root/tests/operations/Checkout.graphql; pages=${4:-20} ;;
  *) echo "workload: W1, W1-SQL or W3" >&2; exit 2 ;;
esac
command -v valgrind >/dev/null || sudo apt-get install -y -q valgrind >/dev/null
server=${BISTRO_BENCH_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
case ${PAIR:-real} in
  real) database=${server%/*}/bistro_bench; redis=${BISTRO_BENCH_REDIS_URL:-redis://127.0.0.1:6379} ;;
  embedded) database=sqlite://$root/target/bench/bistro.db; redis= ;;
esac
body=$(python3 -c 'import json,sys; print(json.dumps({"query": open(sys.argv[1]).read(), "variables": {"first": 20, "menuFirst": 10}}))' "$document")
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
BISTRO_LISTEN=127.0.0.1:$port BISTRO_DATABASE_URL=$database BISTRO_REDIS_URL=$redis \
BISTRO_KV__KEY_PREFIX=bistro-bench: BISTRO_ENVIRONMENT=development BISTRO_SEED_DEMO_DATA=false \
BISTRO_HTTP__GRAPHIQL=false BISTRO_RATE_LIMIT__REQUESTS_PER_MINUTE=0 \
BISTRO_AUTH__TOKEN_SECRET=bistro-bench-signing-secret-0123456789abcdef \
BISTRO_SQL__MAX_CONNECTIONS=10 BISTRO_DATA__SHARED_CACHES=$caches RUST_LOG=warn \
  valgrind --tool=callgrind --callgrind-out-file="$work/profile.%p" "$bin" serve >"$work/server.log" 2>&1 &
valgrind=$!
for _ in $(seq 600); do curl -sf "http://127.0.0.1:$port/health/ready" >/dev/null && break; sleep 0.5; done
send() {
  curl -sf -H 'content-type: application/json' -d "$body" "http://127.0.0.1:$port/graphql" -o "$work/last.json"
}
checkouts() {
  python3 "$root/crates/bistro-bench/w3.py" "$port" "$1" "$work/shopper.json" "$root"
}
echo '{}' >"$work/last.json"
if [ "$workload" = W3 ]; then checkouts 5; else for _ in $(seq 20); do send; done; fi
callgrind_control -z "$valgrind" >/dev/null 2>&1
if [ "$workload" = W3 ]; then checkouts "$pages"; else for _ in $(seq "$pages"); do send; done; fi
callgrind_control -d "$valgrind" >/dev/null 2>&1
kill "$valgrind"; wait "$valgrind" 2>/dev/null || true
grep -q '"errors"' "$work/last.json" && { echo "the page answered with errors:" >&2; head -c 500 "$work/last.json" >&2; exit 1; }
profile=$(ls "$work"/profile.*.* | head -1)
total=$(awk '/^(summary|totals):/ {print $2; exit}' "$profile")
[ -n "${KEEP:-}" ] && cp "$profile" "$KEEP"
unit=page; [ "$workload" = W3 ] && unit=checkout
echo "$workload caches=$caches pair=${PAIR:-real} $(basename "$bin"): $((total / pages)) instructions per $unit ($total over $pages)"
