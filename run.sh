#!/bin/sh
# Entry point of the Alexa Link container (ENTRYPOINT in the Dockerfile).
# config.yaml sets `init: false` and the image does not use the base image's
# s6-overlay, so `exec` makes node PID 1: SIGTERM from `docker stop` reaches
# it directly, and src/main.ts must handle SIGTERM/SIGINT itself (a PID 1
# process gets no default signal actions).
set -eu

# Supervisor mounts the app's persistent folder (options.json, database) at /data.
DATA_DIR="${DATA_DIR:-/data}"
export DATA_DIR

cd /app
# V8 settings set on purpose, the same in package.json "start" and the tests
# (test/helpers/server-process.ts): V8's defaults follow the Node.js version and
# the device's memory (Node 24 lets the young generation grow to 2 x 64 MiB,
# Node 20 to 2 x 16). The live heap is 12-18 MiB: 4 MiB semi-spaces and a
# 128 MiB old space keep the V8 heap small under load, with 8x headroom;
# --v8-pool-size=1 keeps one V8 worker thread: less memory when idle, same
# throughput. Not --optimize-for-size: it saved 5-6 MiB idle on Node 24 and
# cost a quarter of the throughput (docs/benchmarks.md, "V8 settings").
exec node --v8-pool-size=1 --max-semi-space-size=4 --max-old-space-size=128 /app/dist/main.js "$@"
