#!/usr/bin/env bash
# Make sure a Docker engine answers `docker info`: install docker.io with apt-get when the
# daemon is missing, start `dockerd` in the background and wait until it is ready.
# Idempotent: when `docker info` already works, this only says so.
#
# Environment:
#   DOCKERD_LOG       where dockerd writes its log (default /tmp/dockerd.log)
#   DOCKERD_WAIT_SECS how long to wait for the daemon (default 60)
set -euo pipefail

DOCKERD_LOG=${DOCKERD_LOG:-/tmp/dockerd.log}
DOCKERD_WAIT_SECS=${DOCKERD_WAIT_SECS:-60}

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    echo "==> docker engine: already running"
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    if [ "$(id -u)" != 0 ]; then
        echo "error: dockerd is not installed and this is not root; install docker first" >&2
        exit 1
    fi
    echo "==> installing docker.io with apt-get (about 1-2 minutes)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends docker.io
fi

if pgrep -x dockerd >/dev/null 2>&1; then
    echo "==> dockerd is already starting (pid $(pgrep -x dockerd | head -n1)); waiting for it"
else
    if [ "$(id -u)" != 0 ]; then
        echo "error: dockerd is not running and only root can start it here" >&2
        exit 1
    fi
    echo "==> starting dockerd in the background (log: $DOCKERD_LOG)"
    # setsid: the daemon must outlive this script and the test session that called it.
    setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
fi

for _ in $(seq "$DOCKERD_WAIT_SECS"); do
    if docker info >/dev/null 2>&1; then
        echo "==> docker engine: ready ($(docker version --format '{{.Server.Version}}'))"
        exit 0
    fi
    sleep 1
done

echo "error: docker engine did not answer within ${DOCKERD_WAIT_SECS}s; last lines of $DOCKERD_LOG:" >&2
tail -n 20 "$DOCKERD_LOG" >&2 || true
exit 1
