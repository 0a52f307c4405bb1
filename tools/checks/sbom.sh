#!/usr/bin/env bash
# dependency-audit: the SBOM the build writes (BUILD/tools/sbom.cdx.json, CycloneDX 1.5, by
# tools/sbom/make_sbom.py) validates against the format's published JSON schema (vendored in
# tools/sbom/schema/: offline), is current, and accounts for every library each binary links
# with the Debian package it came from. No CVE feed is consulted (docs/quality.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
BUILD="${BUILD:-build}"
ninja -C "$BUILD" tools/sbom.cdx.json >/dev/null
python3 tools/sbom/check_sbom.py "$BUILD/tools/sbom.cdx.json" tools/sbom/schema
