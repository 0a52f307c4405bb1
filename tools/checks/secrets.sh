#!/usr/bin/env bash
# Fails when something that looks like a private key is committed outside tests/fixtures/:
# PEM keys, minisign key files, and the base64 starts of bare minisign secret keys
# ("RWQAAEIy" unencrypted, "RWRTY0Iy" encrypted).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
pattern='-----BEGIN ([A-Z]+ )?PRIVATE KEY-----|minisign encrypted secret key|untrusted comment: minisign (encrypted )?secret key|RWQAAEIy|RWRTY0Iy'
found=$(git ls-files -co --exclude-standard | grep -v '^tests/fixtures/' | grep -v '^tools/checks/secrets.sh$' |
  xargs -d '\n' grep -l -E -- "$pattern" 2>/dev/null || true)
if [ -n "$found" ]; then
  echo "secrets: private key material outside tests/fixtures/:" >&2
  echo "$found" >&2
  exit 1
fi
echo "secrets: none found"
