#!/bin/sh
# Builds uWebSockets' own load generators (benchmarks/load_test.c, broadcast_test.c) and a
# uWebSockets server for the load driver (server_uws.cpp, next to this script), from pinned
# uWebSockets + uSockets sources, with gcc, plain sockets (no SSL: LIBUS_NO_SSL) and no
# zlib, the way uWebSockets' benchmarks/Makefile and build.c compile them (-O3, -flto,
# -march=native; the Makefile uses clang and OpenSSL, which plain sockets do not need).
# -mno-avx512f: valgrind cannot decode AVX-512, and the driver's --instructions mode runs the
# server under callgrind (on a CPU without AVX-512 the flag changes nothing).
#
# Sources: UWS_SRC and USOCKETS_SRC (checked-out trees) if set; otherwise they are cloned
# from GitHub at the pinned commits below (this needs network access to github.com, which
# a benchmark machine restricted to package registries lacks: fetch them elsewhere and
# point the two variables at them).
#
# Output: <target>/release/{server_uws,uws_load_test,uws_broadcast_test}, next to the Rust
# servers, where the driver looks (target: CARGO_TARGET_DIR or the workspace's target/).
set -eu

UWS_COMMIT=66dcff3dd48f0c19dd1703426365d062039321d0       # uWebSockets master, 2026-08-18
USOCKETS_COMMIT=86097c490263ab662d62e8e7b541390bdec7d149  # its uSockets submodule

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
target=${CARGO_TARGET_DIR:-$root/target}
out=$target/release
work=$target/uws-build
mkdir -p "$out" "$work"

fetch() { # name url commit var
    if [ -n "$4" ]; then
        echo "$4"
        return
    fi
    dir=$work/$1
    if [ ! -d "$dir/.git" ]; then
        git clone --quiet "$2" "$dir" >&2
    fi
    git -C "$dir" checkout --quiet "$3" >&2
    echo "$dir"
}
uws=$(fetch uWebSockets https://github.com/uNetworking/uWebSockets.git "$UWS_COMMIT" "${UWS_SRC:-}")
us=$(fetch uSockets https://github.com/uNetworking/uSockets.git "$USOCKETS_COMMIT" "${USOCKETS_SRC:-}")

CC=${CC:-gcc}
CXX=${CXX:-g++}
CFLAGS="-O3 -march=native -mno-avx512f -flto=auto -DLIBUS_NO_SSL -I$us/src"
objs=$work/obj
rm -rf "$objs" && mkdir -p "$objs"
for f in "$us"/src/*.c "$us"/src/eventing/*.c "$us"/src/crypto/*.c; do
    $CC $CFLAGS -c "$f" -o "$objs/$(basename "$f" .c).o"
done

# The generators: each C file with uSockets (epoll), as the benchmarks' Makefile links them.
$CC $CFLAGS "$uws/benchmarks/load_test.c" "$objs"/*.o -lz -o "$out/uws_load_test"
$CC $CFLAGS "$uws/benchmarks/broadcast_test.c" "$objs"/*.o -o "$out/uws_broadcast_test"

# The server: header-only uWebSockets over the same uSockets objects, as build.c compiles
# its examples (-std=c++2b, WITH_ZLIB=0 -> UWS_NO_ZLIB).
$CXX -O3 -march=native -mno-avx512f -flto=auto -std=c++2b -DLIBUS_NO_SSL -DUWS_NO_ZLIB \
    -I"$uws/src" -I"$us/src" "$here/server_uws.cpp" "$objs"/*.o -o "$out/server_uws"

# What the driver's report names as the contender's version.
echo "git ${UWS_COMMIT:0:7} (uSockets ${USOCKETS_COMMIT:0:7})" > "$out/server_uws.version"

echo "built: $out/server_uws $out/uws_load_test $out/uws_broadcast_test"
