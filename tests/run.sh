#!/bin/sh
# Builds dtsim with its tests (Release) and runs every test, including the
# installed-package consumer test and the examples. Usage: tests/run.sh [build-dir]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build-tests"}
"$root/tests/install-deps.sh"
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDTSIM_BUILD_TESTS=ON -DDTSIM_BUILD_EXAMPLES=ON
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"
