# Bistro: one static-ish binary on a slim Debian base.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin bistro

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/bistro /usr/local/bin/bistro
ENV BISTRO_LISTEN=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["bistro"]
CMD ["serve"]
