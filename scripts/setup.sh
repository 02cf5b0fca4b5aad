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
  python3 python3-dev python3-pytest
  pybind11-dev libboost-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libcli11-dev libgtest-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S . -B build -G Ninja -DPython_EXECUTABLE=/usr/bin/python3
cmake --build build
