#!/usr/bin/env bash
# Make sure the test OpenID Provider's packages (tests/oidc: oidc-provider, pinned by package-lock.json)
# are installed: `npm ci` when tests/oidc/node_modules is missing or older than the lock file, else
# nothing. Only the district sign-in tests need Node.js; nothing else in the project does.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../tests/oidc" && pwd)"
lock="$dir/package-lock.json"
# npm ci writes node_modules/.package-lock.json last: its age is the age of the install.
stamp="$dir/node_modules/.package-lock.json"
installed() { [ -f "$stamp" ] && [ ! "$lock" -nt "$stamp" ] && [ -f "$dir/node_modules/oidc-provider/package.json" ]; }
if installed; then exit 0; fi
# Two test runs starting at once install once: the second waits, then finds it done.
exec 9<"$dir"
flock 9
if installed; then exit 0; fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "ensure-oidc-provider: Node.js (20.19 or later) and npm are needed for the OpenID Provider tests" >&2
  exit 1
fi
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)'; then
  echo "ensure-oidc-provider: oidc-provider 9 needs Node.js 20.19 or later, this is $(node --version)" >&2
  exit 1
fi
echo "ensure-oidc-provider: npm ci in $dir" >&2
cd "$dir"
npm ci --no-audit --no-fund --loglevel=error >&2
touch "$stamp"
