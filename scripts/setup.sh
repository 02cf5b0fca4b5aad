#!/usr/bin/env bash
# Installs every system dependency of mvi-runtime on a fresh Debian 12 machine, then builds.
# Idempotent: re-running only rebuilds what changed. Needs root or sudo for apt-get.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# Why each package is here: docs/dependencies.md.
PACKAGES=(
  build-essential cmake ninja-build ccache
  python3 python3-dev python3-pytest python3-mypy python3-venv python3-pip python3-setuptools
  pybind11-dev libboost-dev nlohmann-json3-dev libsimdjson-dev libspdlog-dev libfmt-dev libcli11-dev libgtest-dev
  libmimalloc-dev
  python3-numpy python3-pandas python3-pydantic
  chromium
  libssl-dev python3-aiosmtpd openssl
  slowhttptest clang-14 libclang-rt-14-dev
  libsqlite3-dev libhiredis-dev redis-server
  wrk python3-fastapi python3-uvicorn python3-uvloop python3-httptools python3-gunicorn
)
# Node.js and npm (Swagger UI assets for /docs, the OpenAPI validator, the browser test driver): Debian's, unless a
# node and an npm are already on PATH (a newer Node from elsewhere is kept as it is).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# npm packages pinned by package-lock.json (devDependencies only; node_modules/ is git-ignored). Reinstalled only when
# the lock file changed since the last install. --ignore-scripts: none of them needs an install script, and it keeps
# swagger-ui-dist's analytics dependency (@scarf/scarf) from phoning home.
if ! cmp -s package-lock.json node_modules/.mvi-installed-lock.json 2>/dev/null; then
  npm ci --no-audit --no-fund --ignore-scripts
  cp package-lock.json node_modules/.mvi-installed-lock.json
fi

# `import mvi` for Debian's python3 straight from this tree, so `python3 service.py` (which then finds build/mvi-runtime
# beside the package) and the tests `mvi init` writes work right after set-up: a .pth in the site directory for local
# packages names this clone's python/ (docs/python-api.md). Re-running set-up from another clone points it there.
SITE_DIR=$(/usr/bin/python3 -c 'import site; print(site.getsitepackages()[0])')
$SUDO mkdir -p "$SITE_DIR"
echo "$PWD/python" | $SUDO tee "$SITE_DIR/mvi-runtime.pth" > /dev/null

cmake -S . -B build -G Ninja -DPython_EXECUTABLE=/usr/bin/python3
cmake --build build
