#!/bin/sh
# Installs what is missing, builds dtsim (Release) and predicts one training
# step of the default scenario. Usage: examples/quickstart.sh [scenario.json]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/tests/install-deps.sh"
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S "$root" -B "$root/build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDTSIM_BUILD_TESTS=OFF -DDTSIM_BUILD_BENCHMARKS=OFF
cmake --build "$root/build" -j "$jobs" --target dtsim
"$root/build/scenarios/dtsim" run "${1:-$root/scenarios/llama3-8b-8xh100-fsdp.json}"
