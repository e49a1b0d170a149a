#!/usr/bin/env bash
# Make sure the pages' browser tests have what they drive and inject: Debian's Chromium (apt-get,
# noninteractive) and the npm packages pinned in tests/pages/js/package-lock.json (axe-core, and
# chart.js to check the copy the pages serve), installed with `npm ci` into tests/pages/js/node_modules.
# Idempotent: does nothing when both are already there.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
js="$root/tests/pages/js"
if ! [ -x /usr/bin/chromium ]; then
  echo "chromium is not installed: installing it (apt-get install chromium)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi
/usr/bin/chromium --version >/dev/null 2>&1  # (the Debian wrapper prints a harmless shell warning)
if ! [ -f "$js/node_modules/.package-lock.json" ] || ! cmp -s "$js/package-lock.json" "$js/.installed-lock"; then
  command -v npm >/dev/null 2>&1 || {
    echo "npm is not installed: installing it (apt-get install npm)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends npm >/dev/null
  }
  (cd "$js" && npm ci --silent --no-audit --no-fund)
  cp "$js/package-lock.json" "$js/.installed-lock"
fi
