#!/bin/sh
# Installs the Debian 12 packages dtsim needs, only those missing. Open MPI
# (libopenmpi-dev, openmpi-bin: mpirun) is optional for the build
# (DTSIM_WITH_MPI) and installed so that `mpirun -n N dtsim sweep` and its tests run.
set -eu
pkgs="build-essential cmake ninja-build libboost-graph-dev libeigen3-dev libtbb-dev nlohmann-json3-dev catch2"
pkgs="$pkgs libopenmpi-dev openmpi-bin"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
$SUDO apt-get update -qq
# shellcheck disable=SC2086
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
