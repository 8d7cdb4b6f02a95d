# keel: one static binary in a FROM scratch image.
#
#   docker build -t keel .
#   docker run -p 8080:8080 -v keel-data:/var/lib/keel keel
#
# Stage 1 builds a fully static, stripped binary (glibc static) with
# scripts/build-static.sh and lays out the image's whole filesystem in /rootfs
# with scripts/verify-scratch.sh --rootfs (the same layout the no-daemon
# verification runs in).  Stage 2 copies that and nothing else: no shell, no
# libc, no package manager, no RUN.

FROM debian:12 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config ca-certificates \
      libevent-dev libjansson-dev libsqlite3-dev libssl-dev zlib1g-dev libargon2-dev \
      libpq-dev postgresql-server-dev-15 \
 && rm -rf /var/lib/apt/lists/*
# libpq-dev + postgresql-server-dev-15: libpq.a and the libpgcommon.a/libpgport.a
# it needs (the PostgreSQL store; tests/deploy/validate.py checks this list).
WORKDIR /src
COPY . .
RUN scripts/build-static.sh /build \
 && scripts/verify-scratch.sh --rootfs /rootfs /build/keel

FROM scratch
# /rootfs/image is the whole tree (keel, /etc, /tmp 1777, /var/lib); the empty
# SQLite data directory comes apart so that it alone is owned by 65534.
COPY --from=build /rootfs/image/ /
COPY --from=build --chown=65534:65534 /rootfs/volume/ /var/lib/keel/
# The database URL and data dir come from /etc/keel/keel.json (the config-file
# layer), not ENV: an image ENV KEEL_DATABASE_URL would clash with the
# KEEL_DATABASE_URL_FILE secret that deployments set ("both are set").
ENV KEEL_CONFIG=/etc/keel/keel.json \
    KEEL_HOST=0.0.0.0 \
    KEEL_PORT=8080 \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
VOLUME ["/var/lib/keel"]
USER 65534:65534
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=2s --retries=3 CMD ["/keel", "health"]
ENTRYPOINT ["/keel"]
CMD ["serve"]
