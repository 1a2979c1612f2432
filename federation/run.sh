#!/usr/bin/env bash
# Bistro as an Apollo Federation v2 subgraph, checked with Apollo's own
# libraries (check.mjs says what is checked). Needs Node 20+ and npm.
#
#   bash federation/run.sh        # builds the debug `bistro` binary first
#   BISTRO_BIN=target/release/bistro bash federation/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"

# The pinned packages, installed from package-lock.json when they are
# missing or the lockfile changed since the last install.
stamp="$here/node_modules/.bistro-installed-lock"
if ! cmp -s "$here/package-lock.json" "$stamp" 2>/dev/null; then
  echo "federation: npm ci"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$here/package-lock.json" "$stamp"
fi

if [ -z "${BISTRO_BIN:-}" ]; then
  echo "federation: cargo build --bin bistro"
  (cd "$root" && cargo build --locked --quiet -p bistro-server --bin bistro)
  target="${CARGO_TARGET_DIR:-$root/target}"
  case "$target" in /*) ;; *) target="$root/$target" ;; esac
  BISTRO_BIN="$target/debug/bistro"
fi
case "$BISTRO_BIN" in /*) ;; *) BISTRO_BIN="$root/$BISTRO_BIN" ;; esac
export BISTRO_BIN

cd "$here"
exec node check.mjs
