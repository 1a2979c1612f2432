#!/usr/bin/env bash
# Persisted documents with the real clients (check.mjs says what is
# checked): Apollo Client 4's persisted-queries link, Apollo's persisted
# query manifest generator and @apollo/persisted-query-lists, curl; then
# graphql-http's audits of the GraphQL over HTTP spec. Needs Node 20+, npm
# and curl.
#
#   bash clients/run.sh                    # builds the debug `bistro` binary first
#   BISTRO_RECORD=1 bash clients/run.sh    # rewrites tests/operations/persisted/ and graphql-http-audit.json
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

# The pinned packages, installed from package-lock.json when they are
# missing or the lockfile changed since the last install.
stamp="$here/node_modules/.bistro-installed-lock"
if ! cmp -s "$here/package-lock.json" "$stamp" 2>/dev/null; then
  echo "clients: npm ci"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$here/package-lock.json" "$stamp"
fi

if [ -z "${BISTRO_BIN:-}" ]; then
  echo "clients: cargo build --bin bistro"
  (cd "$root" && cargo build --locked --quiet -p bistro-server --bin bistro)
  target="${CARGO_TARGET_DIR:-$root/target}"
  case "$target" in /*) ;; *) target="$root/$target" ;; esac
  BISTRO_BIN="$target/debug/bistro"
fi
case "$BISTRO_BIN" in /*) ;; *) BISTRO_BIN="$root/$BISTRO_BIN" ;; esac
export BISTRO_BIN

cd "$here"
# Apollo's generator, as a frontend team runs it: src/**/*.graphql into
# persisted-query-manifest.json (what `bistro documents add` takes).
npx --no-install generate-persisted-query-manifest --config persisted-query-manifest.config.json
exec node check.mjs
