#!/usr/bin/env bash
# Build a local stand-in for the AWS Lambda Python 3.11 base image, for machines that cannot pull
# from a container registry. A Debian root filesystem made with debootstrap is imported into
# Docker, then python3, ca-certificates and awslambdaric are added, and the AWS contract is kept:
# WORKDIR /var/task, LAMBDA_TASK_ROOT, LAMBDA_RUNTIME_DIR, ENTRYPOINT /lambda-entrypoint.sh.
#
# Usage: scripts/build-base-image.sh [--force] [--tag TAG]
#
# Environment:
#   TITILER_BASE_IMAGE  image tag to build (default titiler-lambda-base:python3.11)
#   DEBIAN_SUITE        Debian release (default bookworm, whose python3 is 3.11)
#   DEBIAN_MIRROR       Debian mirror (default: the host's apt configuration)
#   EXTRA_CA_BUNDLE     CA bundle trusted by pip during the build (default: the host's bundle);
#                       set it empty to trust only the image's own certificates
set -euo pipefail
cd "$(dirname "$0")/.."

TAG=${TITILER_BASE_IMAGE:-titiler-lambda-base:python3.11}
SUITE=${DEBIAN_SUITE:-bookworm}
FORCE=0
while [ $# -gt 0 ]; do
    case "$1" in
        --force) FORCE=1 ;;
        --tag) TAG=$2; shift ;;
        -h | --help) sed -n '2,16p' "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
    shift
done

if [ "$FORCE" = 0 ] && docker image inspect "$TAG" >/dev/null 2>&1; then
    echo "==> base image $TAG already exists (use --force to rebuild)"
    exit 0
fi

# Print the first URI of an enabled `deb` entry for suite $1 in the host's apt sources, read in
# apt's own order, in one-line (*.list) or deb822 (*.sources) format.
apt_uri_for_suite() {
    local suite=$1 file
    for file in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
        [ -f "$file" ] || continue
        case "$file" in
            *.sources)
                awk -v suite="$suite" '
                    function check() {
                        if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") &&
                            enabled != "no" && uri != "") { print uri; found = 1; exit }
                        types = ""; suites = ""; uri = ""; enabled = ""
                    }
                    /^[ \t]*#/ { next }
                    /^[ \t]*$/ { check(); next }
                    tolower($1) == "types:" { $1 = ""; types = $0; sub(/^ +/, "", types) }
                    tolower($1) == "uris:" { uri = $2 }
                    tolower($1) == "suites:" { $1 = ""; suites = $0; sub(/^ +/, "", suites) }
                    tolower($1) == "enabled:" { enabled = tolower($2) }
                    END { if (!found) check() }
                ' "$file"
                ;;
            *)
                awk -v suite="$suite" '
                    $1 != "deb" { next }
                    { sub(/\[[^]]*\]/, ""); if ($3 == suite) { print $2; exit } }
                ' "$file"
                ;;
        esac
    done | head -n 1
}

# Fill PIP_BUILD_ARGS with `--build-arg PIP_INDEX_URL=...` / `PIP_EXTRA_INDEX_URL=...` for the
# host's pip indexes that a container can reach too: http(s) only, since file:// indexes and
# find-links do not exist inside the build.
PIP_BUILD_ARGS=()
pip_index_build_args() {
    local config key var value url urls
    # Ordered by pip's precedence (global < user < site < environment); the last match wins.
    config=$(${PYTHON:-python3} -m pip config list 2>/dev/null | awk -F. '{
        rank = $1 == "global" ? 1 : $1 == "user" ? 2 : $1 == "site" ? 3 : 4
        print rank "\t" $0 }' | sort -s -n -k1,1 | cut -f2- || true)
    for key in index-url extra-index-url; do
        value=$(printf '%s\n' "$config" | sed -n "s/^[^=]*\\.$key='\\(.*\\)'\$/\\1/p" | tail -n 1)
        urls=""
        for url in $value; do
            case "$url" in http://* | https://*) urls="${urls:+$urls }$url" ;; esac
        done
        var=PIP_$(echo "$key" | tr 'a-z-' 'A-Z_')
        if [ -n "$urls" ]; then PIP_BUILD_ARGS+=(--build-arg "$var=$urls"); fi
    done
}

MIRROR=${DEBIAN_MIRROR:-$(apt_uri_for_suite "$SUITE")}
if [ -z "$MIRROR" ]; then
    echo "error: no '$SUITE' entry in the host's apt sources; set DEBIAN_MIRROR" >&2
    exit 1
fi
SECURITY_MIRROR=$(apt_uri_for_suite "$SUITE-security")
if ! command -v debootstrap >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "==> installing debootstrap with apt-get (about 30 seconds)"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
fi
for tool in debootstrap docker; do
    command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done

WORKDIR=$(mktemp -d /var/tmp/titiler-base.XXXXXX)
ROOTFS_TAG="${TAG%:*}:rootfs-$SUITE"
cleanup() {
    rm -rf "$WORKDIR"
    docker image rm "$ROOTFS_TAG" >/dev/null 2>&1 || true
}
trap cleanup EXIT
START=$SECONDS

echo "==> debootstrap $SUITE (minbase) from $MIRROR: about 1-3 minutes"
step=$SECONDS
debootstrap --variant=minbase "$SUITE" "$WORKDIR/rootfs" "$MIRROR" >"$WORKDIR/debootstrap.log" 2>&1 || {
    tail -n 30 "$WORKDIR/debootstrap.log" >&2
    exit 1
}
echo "    done in $((SECONDS - step)) s"

# The image only needs Debian's own archives; later apt installs skip documentation.
{
    echo "deb $MIRROR $SUITE main"
    echo "deb $MIRROR $SUITE-updates main"
    if [ -n "$SECURITY_MIRROR" ]; then echo "deb $SECURITY_MIRROR $SUITE-security main"; fi
} >"$WORKDIR/rootfs/etc/apt/sources.list"
cat >"$WORKDIR/rootfs/etc/dpkg/dpkg.cfg.d/01-titiler-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' \
    >"$WORKDIR/rootfs/etc/apt/apt.conf.d/01-titiler-minimal"
rm -rf "$WORKDIR"/rootfs/var/cache/apt/archives/*.deb "$WORKDIR"/rootfs/var/lib/apt/lists/* \
    "$WORKDIR"/rootfs/usr/share/doc/* "$WORKDIR"/rootfs/usr/share/man/* \
    "$WORKDIR"/rootfs/usr/share/info/* "$WORKDIR"/rootfs/usr/share/locale/* \
    "$WORKDIR"/rootfs/var/cache/debconf/*-old "$WORKDIR"/rootfs/var/log/*.log

echo "==> importing the root filesystem into docker ($(du -sh "$WORKDIR/rootfs" | cut -f1)): about 10-20 seconds"
step=$SECONDS
tar -C "$WORKDIR/rootfs" -c . | docker import - "$ROOTFS_TAG" >/dev/null
rm -rf "$WORKDIR/rootfs"
echo "    done in $((SECONDS - step)) s"

CONTEXT=$WORKDIR/context
mkdir -p "$CONTEXT/certs"
EXTRA_CA_BUNDLE=${EXTRA_CA_BUNDLE-/etc/ssl/certs/ca-certificates.crt}
if [ -n "$EXTRA_CA_BUNDLE" ] && [ -f "$EXTRA_CA_BUNDLE" ]; then
    cp "$EXTRA_CA_BUNDLE" "$CONTEXT/certs/extra-ca-bundle.crt"
fi

cat >"$CONTEXT/lambda-entrypoint.sh" <<'EOF'
#!/bin/sh
# Start the Lambda runtime interface client for the handler named in $1 (e.g. handler.handler).
# Without a Runtime API (a plain `docker run`), run it under the runtime interface emulator
# when the image has one, so that the container answers invocations on port 8080.
if [ $# -lt 1 ]; then
    echo "usage: /lambda-entrypoint.sh <module.function>" >&2
    exit 142
fi
export _HANDLER="$1"
export PYTHONPATH="${LAMBDA_TASK_ROOT}:${LAMBDA_RUNTIME_DIR}${PYTHONPATH:+:$PYTHONPATH}"
if [ -z "${AWS_LAMBDA_RUNTIME_API:-}" ] && [ -x /usr/local/bin/aws-lambda-rie ]; then
    exec /usr/local/bin/aws-lambda-rie python3 -m awslambdaric "$@"
fi
exec python3 -m awslambdaric "$@"
EOF

chmod 755 "$CONTEXT/lambda-entrypoint.sh"

cat >"$CONTEXT/Dockerfile" <<'EOF'
ARG ROOTFS
FROM ${ROOTFS} AS python
ENV LANG=C.UTF-8 \
    TZ=:/etc/localtime \
    LAMBDA_TASK_ROOT=/var/task \
    LAMBDA_RUNTIME_DIR=/var/runtime
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3 python3-pip ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/debconf/*-old \
        /var/log/apt /var/log/dpkg.log /var/log/alternatives.log

FROM python AS runtime-client
ARG PIP_INDEX_URL=
ARG PIP_EXTRA_INDEX_URL=
COPY certs/ /tmp/certs/
RUN set -e; \
    if cat /tmp/certs/*.crt /tmp/certs/*.pem 2>/dev/null | grep -q "BEGIN CERTIFICATE"; then \
        cat /etc/ssl/certs/ca-certificates.crt /tmp/certs/*.crt /tmp/certs/*.pem \
            >/tmp/ca.pem 2>/dev/null || true; \
        export PIP_CERT=/tmp/ca.pem SSL_CERT_FILE=/tmp/ca.pem; \
    fi; \
    [ -n "$PIP_INDEX_URL" ] || unset PIP_INDEX_URL; \
    [ -n "$PIP_EXTRA_INDEX_URL" ] || unset PIP_EXTRA_INDEX_URL; \
    python3 -m pip install --no-cache-dir --disable-pip-version-check --compile \
        --target "$LAMBDA_RUNTIME_DIR" awslambdaric

FROM python
COPY --from=runtime-client /var/runtime /var/runtime
COPY lambda-entrypoint.sh /lambda-entrypoint.sh
WORKDIR /var/task
ENTRYPOINT ["/lambda-entrypoint.sh"]
EOF

echo "==> docker build: python3 and awslambdaric on top (about 20 seconds-2 minutes)"
step=$SECONDS
pip_index_build_args
docker build --tag "$TAG" --build-arg "ROOTFS=$ROOTFS_TAG" "${PIP_BUILD_ARGS[@]}" "$CONTEXT"
echo "    done in $((SECONDS - step)) s"

size=$(docker image inspect --format '{{.Size}}' "$TAG")
echo "==> built $TAG ($((size / 1000000)) MB) in $((SECONDS - START)) s"
