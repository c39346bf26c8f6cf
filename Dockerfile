# Alexa Link: Home Assistant app image.
# There is no build.yaml (deprecated by Home Assistant in 2026.04; the Supervisor
# still reads one, with a warning): the base image, labels and build arguments
# live here. Supervisor and the HA builder actions build this
# file with Docker BuildKit and pass BUILD_VERSION and BUILD_ARCH.

# Home Assistant's Alpine base image, pinned to Alpine 3.24 of the docker-base
# release 2026.06.1 (tag scheme <alpine>-<release>). Both stages use it, so the
# native SQLite addon is compiled against the same musl and Node.js it runs on.
ARG BUILD_FROM=ghcr.io/home-assistant/base:3.24-2026.06.1

###############################################################################
# Build stage: TypeScript and the native better-sqlite3 addon
###############################################################################
FROM ${BUILD_FROM} AS build

RUN apk add --no-cache nodejs npm python3 make g++

WORKDIR /build

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

COPY tsconfig.json ./
COPY src ./src
# better-sqlite3 keeps SQLite's C sources and the compiler's intermediates
# (about 26 MB) beside the 2 MB addon it loads: every HA backup of the app
# carries the image, so only the addon stays (bindings finds it in build/Release).
# The TypeScript build's incremental state (.tsbuildinfo) is for developers only.
RUN npm run build \
    && rm -f dist/.tsbuildinfo \
    && npm prune --omit=dev --no-audit --no-fund \
    && mv node_modules/better-sqlite3/build/Release/better_sqlite3.node /tmp/ \
    && rm -rf node_modules/better-sqlite3/build node_modules/better-sqlite3/deps node_modules/better-sqlite3/src \
    && mkdir -p node_modules/better-sqlite3/build/Release \
    && mv /tmp/better_sqlite3.node node_modules/better-sqlite3/build/Release/

###############################################################################
# Final image: Node.js runtime, compiled app, production modules only
###############################################################################
FROM ${BUILD_FROM}

ARG BUILD_ARCH
ARG BUILD_VERSION=0.1.0

# icu-data-full: Alpine's nodejs may come with English-only ICU data, which would
# format the pages' dates in English whatever the language (docs/decisions/0006).
RUN apk add --no-cache nodejs icu-data-full

# The process runs as root inside the container, deliberately. Supervisor
# creates /data as root (0755) and rewrites /data/options.json as root with
# mode 0600 before every start; private keys in the read-only /ssl mount are
# usually root-only (the Let's Encrypt app copies certbot's 0600 key); and the
# backup hooks run through `docker exec` as the image's user. A separate user
# would need run.sh to chown /data and options.json on every start and could
# still not read the TLS key, so the AppArmor profile would have to grant chown,
# setuid, setgid and dac_override. Instead apparmor.txt grants no capability at
# all and allows writes only to /data and the temp folders, which confines this
# root more tightly than those capabilities would confine a separate user.
WORKDIR /app

COPY --from=build /build/package.json ./package.json
COPY --from=build /build/node_modules ./node_modules
COPY --from=build /build/dist ./dist
COPY views ./views
COPY --chmod=0755 run.sh ./run.sh

# DATA_DIR is also read by the backup hooks and the health check, which Docker
# starts with `exec` and so never pass through run.sh.
ENV \
    NODE_ENV=production \
    DATA_DIR=/data

# 8443: public OAuth listener (mapped by Supervisor); 8099: ingress panel,
# reached only by the Supervisor's ingress proxy.
EXPOSE 8443 8099

# Supervisor uses the Docker health status (config.yaml has no watchdog).
# healthcheck.js calls the public listener's /healthz over HTTP or HTTPS,
# whichever the ssl option selects.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "/app/dist/healthcheck.js"]

LABEL \
    io.hass.name="Alexa Link" \
    io.hass.description="Account linking (OAuth 2.0 authorization server) for the Music Assistant Alexa skill" \
    io.hass.url="https://github.com/music-assistant/alexa-link" \
    io.hass.type="app" \
    io.hass.version="${BUILD_VERSION}" \
    io.hass.arch="${BUILD_ARCH}" \
    org.opencontainers.image.title="Alexa Link" \
    org.opencontainers.image.source="https://github.com/music-assistant/alexa-link" \
    org.opencontainers.image.licenses="Apache-2.0"

# Replaces the base image's s6-overlay /init: nothing else runs in here.
ENTRYPOINT ["/app/run.sh"]
