#!/usr/bin/env bash
# Installs libstylemark (shared and static), its header and a pkg-config file.
#
# Usage: bindings-c/install.sh PREFIX [LIBDIR]
#   PREFIX   where to install (e.g. /usr/local or $HOME/.local)
#   LIBDIR   the directory holding the built libstylemark.so/.a (default: target/release,
#            built first with `cargo build --release -p stylemark-c` when missing)
#
# Then: cc app.c $(pkg-config --cflags --libs stylemark)   (with PKG_CONFIG_PATH=PREFIX/lib/pkgconfig
# when PREFIX is not a system location).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:?usage: bindings-c/install.sh PREFIX [LIBDIR]}
if [ $# -ge 2 ]; then
    libdir_built=$2
    [ -e "$libdir_built/libstylemark.so" ] || { echo "no libstylemark.so in $libdir_built" >&2; exit 1; }
else
    libdir_built=${CARGO_TARGET_DIR:-target}/release
    [ -e "$libdir_built/libstylemark.so" ] || cargo build --release -p stylemark-c
fi
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
mkdir -p "$prefix/lib/pkgconfig" "$prefix/include"
cp "$libdir_built/libstylemark.so" "$libdir_built/libstylemark.a" "$prefix/lib/"
cp bindings-c/include/stylemark.h "$prefix/include/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" bindings-c/stylemark.pc.in \
    > "$prefix/lib/pkgconfig/stylemark.pc"
echo "installed stylemark $version into $prefix"
