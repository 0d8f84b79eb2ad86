#!/usr/bin/env bash
# Installs everything Relief needs on a fresh Debian machine of this kind; safe to run again.
#   Debian packages: the C libraries (OpenBLAS, SuiteSparse, zstd, zlib), the zstd command (the
#   corpus generator uses it), Fashion-MNIST; numpy (for the MNIST conversion); MNIST itself.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenblas-dev libsuitesparse-dev libzstd-dev zlib1g-dev pkg-config zstd gzip dataset-fashion-mnist)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "setup: installing ${missing[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" > /dev/null
fi

python3 -c "import numpy" 2>/dev/null || python3 -m pip install --quiet numpy
python3 tools/fetch_mnist.py
