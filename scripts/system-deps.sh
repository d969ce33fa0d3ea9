#!/usr/bin/env bash
# Install the Debian packages the end-to-end tests need when they are missing:
# the Docker engine, debootstrap (offline base image), Chromium (browser test), wrk (benchmarks).
# Package sources come from the machine's apt configuration.
set -euo pipefail

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
[ -n "${WITH_BENCH_TOOLS:-}" ] && { command -v wrk >/dev/null 2>&1 || need+=(wrk); }

if [ ${#need[@]} -eq 0 ]; then
    echo "==> system packages present"
    exit 0
fi
if [ "$(id -u)" != "0" ]; then
    echo "missing system packages: ${need[*]} (run as root or install them yourself)" >&2
    exit 1
fi
echo "==> installing ${need[*]} with apt (about 1-2 minutes)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
echo "==> system packages installed"
