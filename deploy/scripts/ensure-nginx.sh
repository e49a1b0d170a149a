#!/usr/bin/env bash
# Make sure nginx (the edge of the distributed mode) is installed: Debian's package, without starting
# the system's own nginx (the project runs its own instances with configurations it renders).
set -euo pipefail
if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then exit 0; fi
echo "nginx is not installed: installing it (apt-get install nginx-light)" >&2
export DEBIAN_FRONTEND=noninteractive
# Keep the package's service from starting on port 80 (policy-rc.d exit 101: "action forbidden").
policy=/usr/sbin/policy-rc.d
created=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod 0755 "$policy" && created=1
fi
trap '[ -n "$created" ] && rm -f "$policy"' EXIT
apt-get update -qq && apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]
