# Bistro's everyday commands. `just` lists them.
# Conveniences only: README.md gives each recipe as a plain command, and CI
# (.ci/run) does not need just.

_default:
    @just --list

# Serve on the embedded defaults (SQLite + in-process key-value store).
run:
    cargo run

# The whole suite on the embedded defaults.
test:
    cargo test --workspace

# The whole suite again on PostgreSQL + Redis (local services or `just up`).
test-all:
    BISTRO_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BISTRO_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo test --workspace

# What CI runs: format, lints, the storefront's bundle, both store pairs, the federation checks, the browser tests.
ci:
    bash .ci/run

# Build the storefront into crates/bistro-server/assets/storefront (types, type check, bundle).
storefront:
    cd storefront && npm ci --no-audit --no-fund && npm run build

# The storefront's browser tests on both store pairs (Chromium at /usr/bin/chromium).
e2e:
    cd storefront && npm run e2e

# Regenerate schema.graphql and schema.federation.graphql from the code.
schema:
    cargo run --quiet -- schema > schema.graphql
    cargo run --quiet -- schema --federation > schema.federation.graphql

# Compose with Apollo's libraries and query through @apollo/gateway (Node 20+).
federation:
    bash federation/run.sh

# Persisted documents with the real clients: Apollo Client's APQ link, Apollo's
# manifest generator and persisted-query-lists, curl (Node 20+).
clients:
    bash clients/run.sh

# Seed a data set into an empty database: `just seed standard`.
seed size="small":
    cargo run --release -- seed --size {{size}}

# The benchmark harness: seeds the standard data set, runs the workloads on
# both store pairs against the release server, appends to BENCHMARKS.md.
# Extra arguments go to the harness: `just bench --pairs real --seconds 20`.
bench *args:
    cargo run --release -p bistro-bench -- {{args}}

# PostgreSQL, Redis and Bistro in containers.
up:
    docker compose up -d --build
