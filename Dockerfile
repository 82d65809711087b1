# Shipshape's container image: one `shipshape` binary as the entrypoint, run as a non-root user.
#   docker build -t shipshape .                       # builds from source (the default, last stage)
#   docker run --rm shipshape --version
# Subcommands: `serve` (API), `worker` (scans, schedules), `agent` (one per node), `keys`, `db`...
# The data dir is /var/lib/shipshape (master.key, the SQLite file when no --database is given).
#
# Stages: `build` compiles with the Rust toolchain image; `runtime-base` is the small final base
# (Debian slim + CA certificates + the user); `runtime` (default) copies the binary from `build`;
# `prebuilt` packages a binary built outside (target/container/shipshape), for hosts that cannot
# pull the toolchain image: scripts/container.sh uses it with a local base. The stages are in an
# order the classic builder (no BuildKit) can stop at `prebuilt` without touching `build`.
ARG RUST_IMAGE=rust:1.95-slim-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${RUNTIME_IMAGE} AS runtime-base
# CA certificates for the advisory feeds and registries over HTTPS; nothing else is installed.
# Unpinned on purpose: the distribution's current CA bundle is the one to trust.
# hadolint ignore=DL3008
RUN if ! [ -s /etc/ssl/certs/ca-certificates.crt ]; then \
      apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*; \
    fi \
 && groupadd --system --gid 10001 shipshape \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/shipshape --shell /usr/sbin/nologin shipshape \
 && install -d -o 10001 -g 10001 -m 0700 /var/lib/shipshape
ENV SHIPSHAPE_DATA_DIR=/var/lib/shipshape
WORKDIR /var/lib/shipshape
EXPOSE 8080
USER 10001:10001
ENTRYPOINT ["shipshape"]
CMD ["serve", "--listen", "0.0.0.0:8080"]

FROM runtime-base AS prebuilt
COPY target/container/shipshape /usr/local/bin/shipshape

FROM ${RUST_IMAGE} AS build
WORKDIR /src
COPY . .
# No debug info in the image's binary (the release profile keeps it for profiling).
ENV CARGO_PROFILE_RELEASE_DEBUG=0 CARGO_PROFILE_RELEASE_STRIP=symbols
RUN cargo build --release --locked -p shipshape \
 && install -D -m 0755 target/release/shipshape /out/shipshape

FROM runtime-base AS runtime
COPY --from=build /out/shipshape /usr/local/bin/shipshape
