#!/usr/bin/env bash
# Copy Leaflet's browser build into titiler/static/vendor/leaflet/ so the viewer needs no CDN.
#
# Usage: scripts/vendor-leaflet.sh [VERSION]   (default: the version pinned below)
# Uses `npm pack`, which checks the tarball against the registry's integrity hash.
set -euo pipefail

VERSION="${1:-1.9.4}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST="$ROOT/titiler/static/vendor/leaflet"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
TARBALL="$(npm pack --silent "leaflet@$VERSION")"
tar -xzf "$TARBALL"

rm -rf "$DEST"
mkdir -p "$DEST/images"
cp package/dist/leaflet.js package/dist/leaflet.js.map package/dist/leaflet.css "$DEST/"
cp package/dist/images/*.png "$DEST/images/"
cp package/LICENSE "$DEST/LICENSE"
echo "$VERSION" > "$DEST/VERSION"

echo "Leaflet $VERSION vendored into ${DEST#"$ROOT"/}"
