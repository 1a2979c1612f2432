#!/usr/bin/env bash
# Refreshes the vendored GraphiQL playground in crates/bistro-server/assets/graphiql/
# from the npm registry, so /graphiql works with no network (see TECH-NOTES §1.11).
#
# Copies exactly these files (index.html, playground.js and playground.css are
# hand-written and left alone):
#   graphiql.min.js, graphiql.min.css  <- graphiql@$GRAPHIQL_VERSION (package root; UMD, expects globals React/ReactDOM)
#   react.production.min.js            <- react@$REACT_VERSION umd/
#   react-dom.production.min.js        <- react-dom@$REACT_VERSION umd/
#   LICENSE.graphiql, LICENSE.react, LICENSE.react-dom
#
# After a refresh, check the page's Content-Security-Policy still fits (src/graphiql.rs):
# open /graphiql, open the settings dialog, and read the browser console.
#
# Keep React on 18.x: React 19 ships no UMD build. GraphiQL 5 is ESM-only, so moving to it
# means rewriting index.html, not just bumping the pin.
#
# Usage: scripts/vendor-graphiql.sh            (needs npm and tar; run from anywhere)
set -euo pipefail

GRAPHIQL_VERSION="4.1.2"
REACT_VERSION="18.3.1"
REACT_DOM_VERSION="18.3.1"

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$repo_root/crates/bistro-server/assets/graphiql"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "Fetching graphiql@$GRAPHIQL_VERSION react@$REACT_VERSION react-dom@$REACT_DOM_VERSION" >&2
(
  cd "$work"
  # npm pack checks each tarball against the registry's integrity hash.
  npm pack --silent \
    "graphiql@$GRAPHIQL_VERSION" \
    "react@$REACT_VERSION" \
    "react-dom@$REACT_DOM_VERSION" >/dev/null
)

extract() { # <tarball basename> -> prints the extracted package dir
  local name="$1"
  mkdir -p "$work/$name"
  tar -xzf "$work/$name.tgz" -C "$work/$name"
  printf '%s\n' "$work/$name/package"
}
graphiql_pkg="$(extract "graphiql-$GRAPHIQL_VERSION")"
react_pkg="$(extract "react-$REACT_VERSION")"
react_dom_pkg="$(extract "react-dom-$REACT_DOM_VERSION")"

# Guard against a tarball that is not what we asked for.
check_version() { # <package dir> <expected version>
  local got
  got="$(node -p 'require(process.argv[1]).version' "$1/package.json")"
  if [[ "$got" != "$2" ]]; then
    echo "error: $1/package.json has version $got, expected $2" >&2
    exit 1
  fi
}
check_version "$graphiql_pkg" "$GRAPHIQL_VERSION"
check_version "$react_pkg" "$REACT_VERSION"
check_version "$react_dom_pkg" "$REACT_DOM_VERSION"

mkdir -p "$dest"
install -m 0644 "$graphiql_pkg/graphiql.min.js" "$dest/graphiql.min.js"
install -m 0644 "$graphiql_pkg/graphiql.min.css" "$dest/graphiql.min.css"
install -m 0644 "$react_pkg/umd/react.production.min.js" "$dest/react.production.min.js"
install -m 0644 "$react_dom_pkg/umd/react-dom.production.min.js" "$dest/react-dom.production.min.js"
install -m 0644 "$graphiql_pkg/LICENSE" "$dest/LICENSE.graphiql"
install -m 0644 "$react_pkg/LICENSE" "$dest/LICENSE.react"
install -m 0644 "$react_dom_pkg/LICENSE" "$dest/LICENSE.react-dom"

# Report (do not fail on) anything that looks like a CDN reference. Known, harmless hits in
# graphiql@4.1.2: one React-version error message, "If you are using a CDN source (jsdelivr,
# unpkg, etc) ...", plus a github.com link; it is a string, never fetched. The CSS inlines its
# fonts and images as data: URIs, so only non-data url()/@import would be a network fetch.
echo "CDN-looking strings in the vendored files (review if this list changes):" >&2
for f in graphiql.min.js react.production.min.js react-dom.production.min.js; do
  grep -oiE '.{0,40}\b(unpkg|esm\.sh|jsdelivr|googleapis|cdn)\b.{0,40}' "$dest/$f" \
    | sed "s|^|  $f: |" >&2 || true
done
grep -oP '@import[^;]*|url\(\s*["'"'"']?+(?!data:)[^)]{0,80}' "$dest/graphiql.min.css" \
  | sed "s|^|  graphiql.min.css: |" >&2 || true

echo "Vendored into $dest:" >&2
(cd "$dest" && sha256sum graphiql.min.js graphiql.min.css react.production.min.js react-dom.production.min.js \
  LICENSE.graphiql LICENSE.react LICENSE.react-dom) >&2
