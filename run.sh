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
exec node /app/dist/main.js "$@"
