#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Installs every Debian 12 package QAT Workbench needs to build, run and test.
# Idempotent: does nothing (not even `apt-get update`) when all are present.
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

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
