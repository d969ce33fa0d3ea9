#!/usr/bin/env bash
# Run the tile server locally the way Lambda runs it: `sam local start-api` in front of the
# function image. Does every step: docker engine, base image (a local stand-in unless
# TITILER_BASE_IMAGE names another), template, `sam build`, then serves in the foreground.
#
# Usage: scripts/local-api.sh [--port 3000] [--host 127.0.0.1] [--skip-build | --build-only]
#                             [--out .aws-sam/local] [-- more sam local start-api options]
#
# Environment:
#   TITILER_BASE_IMAGE  base image of the function (default titiler-lambda-base:python3.11, built
#                       by scripts/build-base-image.sh; e.g. public.ecr.aws/lambda/python:3.11)
#   TITILER_*           other stack settings, read by render.py (see the README)
#   EXTRA_CA_BUNDLE     CA bundle pip trusts during image builds (default: the host's bundle)
# Files go to --out (default .aws-sam/local/), so template.yaml and .aws-sam/build stay untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT=3000
HOST=127.0.0.1
BUILD=1
SERVE=1
OUT=.aws-sam/local
while [ $# -gt 0 ]; do
    case "$1" in
        --port) PORT=$2; shift ;;
        --host) HOST=$2; shift ;;
        --skip-build) BUILD=0 ;;
        --build-only) SERVE=0 ;;
        --out) OUT=$2; shift ;;
        --) shift; break ;;
        -h | --help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

SAM=${SAM:-.tools/sam/bin/sam}
PYTHON=${PYTHON:-.venv/bin/python}
STAND_IN_BASE=titiler-lambda-base:python3.11
export TITILER_BASE_IMAGE=${TITILER_BASE_IMAGE:-$STAND_IN_BASE}
export SAM_CLI_TELEMETRY=0
if [ ! -x "$SAM" ] || [ ! -x "$PYTHON" ]; then
    bash scripts/setup-dev.sh
fi

bash scripts/docker-engine.sh

if [ "$BUILD" = 1 ]; then
    if [ "${TITILER_BASE_IMAGE%%:*}" = "${STAND_IN_BASE%%:*}" ]; then
        bash scripts/build-base-image.sh --tag "$TITILER_BASE_IMAGE"
    fi
    EXTRA_CA_BUNDLE=${EXTRA_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}
    if [ -n "$EXTRA_CA_BUNDLE" ] && [ -f "$EXTRA_CA_BUNDLE" ]; then
        cp "$EXTRA_CA_BUNDLE" handler/certs/extra-ca-bundle.crt
    fi

    echo "==> rendering $OUT/template.yaml"
    "$PYTHON" render.py --output "$OUT/template.yaml"
    echo "==> sam build: the function image (about 1-3 minutes)"
    start=$SECONDS
    "$SAM" build --template-file "$OUT/template.yaml" --build-dir "$OUT/build"
    echo "    done in $((SECONDS - start)) s"
fi
[ -f "$OUT/build/template.yaml" ] || { echo "error: no $OUT/build; run without --skip-build" >&2; exit 1; }
[ "$SERVE" = 1 ] || exit 0

# The demo lives where the image says; the viewer module knows which map shows it best.
image=$(sed -n 's/^ *ImageUri: *//p' "$OUT/build/template.yaml" | head -n 1)
demo_directory=$(docker image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$image" |
    sed -n 's/^TITILER_DEMO_DIRECTORY=//p')
demo_path=$(TITILER_DEMO_DIRECTORY=$demo_directory "$PYTHON" -c \
    'from titiler.routers.viewer import demo_viewer_path; print(demo_viewer_path())' 2>/dev/null ||
    true)
echo "==> tile server: http://$HOST:$PORT/ (ready when sam prints 'Running on'; Ctrl-C stops it)"
if [ -n "$demo_directory" ] && [ -n "$demo_path" ]; then
    echo "==> demo map:    http://$HOST:$PORT$demo_path"
fi
exec "$SAM" local start-api --template "$OUT/build/template.yaml" --warm-containers EAGER \
    --port "$PORT" --host "$HOST" --skip-pull-image "$@"
