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

# What CI runs: format, lints, the storefront's bundle, both store pairs, the browser tests.
ci:
    bash .ci/run

# Build the storefront into crates/bistro-server/assets/storefront (types, type check, bundle).
storefront:
    cd storefront && npm ci --no-audit --no-fund && npm run build

# The storefront's browser tests on both store pairs (Chromium at /usr/bin/chromium).
e2e:
    cd storefront && npm run e2e

# Regenerate schema.graphql from the code.
schema:
    cargo run --quiet -- schema > schema.graphql

# Seed a data set into an empty database: `just seed standard`.
seed size="small":
    cargo run --release -- seed --size {{size}}

# Round trips per request of the benchmark query shapes, on both store pairs when
# the services are up (throughput and latency: the load harness, BENCHMARKS.md).
bench:
    BISTRO_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BISTRO_TEST_REDIS_URL=redis://127.0.0.1:6379 cargo test -p bistro-tests round_trips -- --nocapture

# PostgreSQL, Redis and Bistro in containers.
up:
    docker compose up -d --build
