#!/bin/sh
# Installs what nnd needs on Debian 12: the toolchain, the libraries, the data and the
# reference stack for the tests. `setup.sh --check` only reports whether anything is missing.
set -e
PKGS="build-essential llvm-19-dev llvm-19-tools re2c bison libopenblas-dev check zlib1g-dev pkg-config
libjansson-dev dataset-fashion-mnist vim-runtime python3-torch python3-numpy"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ "$1" = "--check" ]; then
	[ -z "$missing" ] && exit 0
	echo "setup: missing packages:$missing" >&2
	exit 1
fi
[ -z "$missing" ] && { echo "setup: everything is installed"; exit 0; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
echo "setup: installing$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
