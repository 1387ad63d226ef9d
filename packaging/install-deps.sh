#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian 12 package QAT Workbench needs to build, run and test.
# Idempotent: does nothing (not even `apt-get update`) when all are present. Also installs
# ONNX Runtime for the tests from npm (see the end).
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config
  # engine
  libtorch-dev libopenblas0-pthread
  # multi-process training: the Gloo headers that c10d's ProcessGroupGloo.hpp includes
  libgloo-dev
  # UI
  qt6-base-dev qt6-base-dev-tools libqt6opengl6-dev libqcustomplot-dev libqcustomplot2.1-qt6
  # the graph view's layout (Graphviz's dot, as a library)
  libgraphviz-dev
  # storage, formats
  libsqlite3-dev nlohmann-json3-dev zlib1g-dev libpng-dev libjpeg62-turbo-dev libonnx-dev libprotobuf-dev protobuf-compiler
  # demo data
  dataset-fashion-mnist
  # fixtures and cross-checks (never needed to run the app)
  python3-torch python3-torchvision python3-onnx python3-numpy python3-pil
  # headless GUI tests and screenshots; the SVG plugin draws the window icon
  xvfb xauth fonts-dejavu-core libqt6svg6
  # fuzzing (libFuzzer comes with clang's runtime libraries); ASan/UBSan use GCC's
  clang-14 libclang-rt-14-dev
  # the .deb: dpkg-shlibdeps, and the checks on it (tests/packaging/check_deb.sh)
  dpkg-dev file lintian desktop-file-utils appstream man-db
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

# Node.js and npm run the ONNX Runtime check of exported models (tests, and the export's
# report when present). A machine may already have them from another packaging of Node.js
# (whose nodejs package provides npm): only ask Debian for them when the commands are missing.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
else
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# ONNX Runtime (CPU) for the tests: npm's onnxruntime-node carries the runtime as a prebuilt
# library inside the package. --ignore-scripts: its install script would download more and is
# not needed. Into a per-user cache that qatwb and the tests look in (QATWB_ONNXRUNTIME_DIR
# overrides it); nothing is fetched when the pinned version is already there.
ORT_VERSION=1.30.0
ORT_DIR="${QATWB_ONNXRUNTIME_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/qat-workbench/onnxruntime}"
ORT_PACKAGE="$ORT_DIR/node_modules/onnxruntime-node/package.json"
if [ -f "$ORT_PACKAGE" ] && grep -q "\"version\": \"$ORT_VERSION\"" "$ORT_PACKAGE"; then
  echo "install-deps: onnxruntime-node $ORT_VERSION present in $ORT_DIR"
else
  echo "install-deps: installing onnxruntime-node $ORT_VERSION into $ORT_DIR"
  mkdir -p "$ORT_DIR"
  npm install --prefix "$ORT_DIR" --ignore-scripts --no-audit --no-fund --no-save --loglevel=error \
    "onnxruntime-node@$ORT_VERSION"
fi
