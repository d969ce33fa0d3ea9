#!/usr/bin/env bash
# Image size: what the function image adds on top of its base image (target <= 150 MB).
#
# The function image is, in order of preference: $IMAGE; the image `sam build` made for
# scripts/local-api.sh (ImageUri in .aws-sam/local/build/template.yaml); with --build, one built
# here by `scripts/local-api.sh --build-only` (sam build, 1-3 minutes). The base is $BASE_IMAGE,
# else the stand-in titiler-lambda-base:python3.11, else public.ecr.aws/lambda/python:3.11 when
# it is present locally. Skips with a message when no docker engine answers.
#
# Usage: benchmarks/bench_image_size.sh [--build]
set -uo pipefail
cd "$(dirname "$0")/.."

BUILD=0
[ "${1:-}" = "--build" ] && BUILD=1
LIMIT_MB=150

echo "## 5. Image size: what the function image adds on top of its base"
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
    echo "  skipped: no docker engine answers \`docker info\` (scripts/docker-engine.sh starts one)"
    exit 0
fi

exists() { docker image inspect "$1" >/dev/null 2>&1; }
template=.aws-sam/local/build/template.yaml
from_template() { [ -f "$template" ] && sed -n 's/^ *ImageUri: *//p' "$template" | head -n 1; }

image=${IMAGE:-}
if [ -z "$image" ] && [ "$BUILD" = 0 ]; then
    image=$(from_template || true)
    if [ -n "$image" ] && ! exists "$image"; then image=""; fi
fi
if [ -z "$image" ]; then
    if [ "$BUILD" = 0 ]; then
        echo "  skipped: no function image yet (run with --build, or scripts/local-api.sh --build-only)"
        exit 0
    fi
    echo "  building the function image: scripts/local-api.sh --build-only (sam build)"
    if ! bash scripts/local-api.sh --build-only >/tmp/bench-image-build.log 2>&1; then
        echo "  skipped: the build failed; last lines of /tmp/bench-image-build.log:"
        tail -n 5 /tmp/bench-image-build.log | sed 's/^/    /'
        exit 0
    fi
    image=$(from_template)
fi

base=${BASE_IMAGE:-}
if [ -z "$base" ]; then
    for candidate in titiler-lambda-base:python3.11 public.ecr.aws/lambda/python:3.11; do
        if exists "$candidate"; then base=$candidate; break; fi
    done
fi
if [ -z "$base" ] || ! exists "$base"; then
    echo "  skipped: base image not found locally (set BASE_IMAGE)"
    exit 0
fi

layers() { docker image inspect --format '{{range .RootFS.Layers}}{{println .}}{{end}}' "$1"; }
base_layer_list=$(layers "$base")
if [ "$(layers "$image" | head -n "$(echo "$base_layer_list" | wc -l)")" != "$base_layer_list" ]; then
    echo "  warning: $image was not built on the current $base (its layers differ);"
    echo "           rebuild it (--build) for an exact figure"
fi

size() { docker image inspect --format '{{.Size}}' "$1"; }
image_bytes=$(size "$image")
base_bytes=$(size "$base")
added=$((image_bytes - base_bytes))
mb() { awk -v b="$1" 'BEGIN { printf "%.1f MB (%.1f MiB)", b / 1e6, b / 1048576 }'; }

echo "  function image: $image  $(mb "$image_bytes")"
echo "  base image:     $base  $(mb "$base_bytes")"
echo "  added on top:   $(mb "$added")"
base_layers=$(docker history -q "$base" | wc -l)
echo "  layers above the base (docker history, newest first):"
docker history --no-trunc --format '{{.Size}}\t{{.CreatedBy}}' "$image" |
    head -n "$(($(docker history -q "$image" | wc -l) - base_layers))" |
    awk -F'\t' '{ cmd = $2; gsub(/[ \t]+/, " ", cmd); printf "    %-9s %s\n", $1, substr(cmd, 1, 100) }'
echo "  largest entries of /var/task (du, MB):"
docker run --rm --entrypoint /bin/sh "$image" -c \
    'du -sk /var/task/* 2>/dev/null | sort -rn | head -n 12' 2>/dev/null |
    awk '{ printf "    %7.1f  %s\n", $1 / 1024, $2 }' || echo "    (could not list /var/task)"
verdict=$(awk -v b="$added" -v l="$LIMIT_MB" 'BEGIN { print (b / 1e6 <= l) ? "PASS" : "FAIL" }')
echo "  target added <= ${LIMIT_MB} MB: $verdict"
