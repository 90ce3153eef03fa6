#!/usr/bin/env bash
# Installs libkevy like a system library:
#   PREFIX/lib/libkevy.so.VERSION               the shared library, SONAME libkevy.so.MAJOR
#   PREFIX/lib/libkevy.so.MAJOR -> libkevy.so.VERSION   what programs load at run time
#   PREFIX/lib/libkevy.so -> libkevy.so.MAJOR   the development link (-lkevy)
#   PREFIX/lib/libkevy.a, PREFIX/include/kevy.h,
#   PREFIX/lib/pkgconfig/kevy.pc                (pkg-config --cflags --libs kevy)
#   PREFIX/lib/cmake/kevy/kevyConfig.cmake      (find_package(kevy) -> kevy::kevy)
#   PREFIX/lib/cmake/kevy/kevyConfigVersion.cmake
#
# Usage: kevy-ffi/install.sh PREFIX [debug|release]
# Builds the library first (cargo build -p kevy-ffi, --release for release).
# Example: kevy-ffi/install.sh /usr/local release
#          kevy-ffi/install.sh "$PWD/target/kevy-prefix"   (what tests/c/run.sh does)
set -euo pipefail

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: $0 PREFIX [debug|release]" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
profile="${2:-release}"
case "$profile" in
  debug) cargo_flags=() ;;
  release) cargo_flags=(--release) ;;
  *) echo "$0: profile must be debug or release, not '$profile'" >&2; exit 2 ;;
esac
mkdir -p "$1"
prefix="$(cd "$1" && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"

(cd "$root" && cargo build -p kevy-ffi "${cargo_flags[@]}")

version="$(sed -n 's/^#define KEVY_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/kevy.h")"
[ -n "$version" ] || { echo "$0: no KEVY_VERSION_STRING in include/kevy.h" >&2; exit 1; }
# What Rust's standard library needs from the system when linking libkevy.a
# (rustc --print native-static-libs).
static_libs="-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc"

install -d "$prefix/lib/pkgconfig" "$prefix/lib/cmake/kevy" "$prefix/include"
install -m 0644 "$root/include/kevy.h" "$prefix/include/kevy.h"
major="${version%%.*}"
soname="libkevy.so.$major"
# Replace whatever an older install left (a plain libkevy.so file included).
rm -f "$prefix/lib/libkevy.so" "$prefix/lib/$soname"
install -m 0755 "$target/$profile/libkevy.so" "$prefix/lib/libkevy.so.$version"
ln -s "libkevy.so.$version" "$prefix/lib/$soname"
ln -s "$soname" "$prefix/lib/libkevy.so"
install -m 0644 "$target/$profile/libkevy.a" "$prefix/lib/libkevy.a"

cat > "$prefix/lib/pkgconfig/kevy.pc" <<PC
prefix=$prefix
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: kevy
Description: Redis-compatible key-value server embedded in your process
Version: $version
Libs: -L\${libdir} -lkevy
Libs.private: $static_libs
Cflags: -I\${includedir}
PC

cat > "$prefix/lib/cmake/kevy/kevyConfig.cmake" <<CMAKE
# kevy's CMake package: find_package(kevy) defines
#   kevy::kevy         the shared library (libkevy.so.$version, SONAME $soname)
#   kevy::kevy_static  the static library (libkevy.a) with its system libraries
get_filename_component(_kevy_prefix "\${CMAKE_CURRENT_LIST_DIR}/../../.." ABSOLUTE)
if(NOT TARGET kevy::kevy)
  add_library(kevy::kevy SHARED IMPORTED)
  set_target_properties(kevy::kevy PROPERTIES
    IMPORTED_LOCATION "\${_kevy_prefix}/lib/libkevy.so.$version"
    IMPORTED_SONAME "$soname"
    INTERFACE_INCLUDE_DIRECTORIES "\${_kevy_prefix}/include")
endif()
if(NOT TARGET kevy::kevy_static)
  add_library(kevy::kevy_static STATIC IMPORTED)
  set_target_properties(kevy::kevy_static PROPERTIES
    IMPORTED_LOCATION "\${_kevy_prefix}/lib/libkevy.a"
    INTERFACE_INCLUDE_DIRECTORIES "\${_kevy_prefix}/include"
    INTERFACE_LINK_LIBRARIES "gcc_s;util;rt;pthread;m;dl")
endif()
set(kevy_VERSION "$version")
unset(_kevy_prefix)
CMAKE

cat > "$prefix/lib/cmake/kevy/kevyConfigVersion.cmake" <<CMAKE
set(PACKAGE_VERSION "$version")
if(PACKAGE_FIND_VERSION VERSION_GREATER PACKAGE_VERSION)
  set(PACKAGE_VERSION_COMPATIBLE FALSE)
else()
  # 0.x: only the same minor version is compatible.
  string(REGEX MATCH "^[0-9]+\\\\.[0-9]+" _have "\${PACKAGE_VERSION}")
  string(REGEX MATCH "^[0-9]+\\\\.[0-9]+" _want "\${PACKAGE_FIND_VERSION}")
  if(PACKAGE_FIND_VERSION STREQUAL "" OR _have STREQUAL _want)
    set(PACKAGE_VERSION_COMPATIBLE TRUE)
  else()
    set(PACKAGE_VERSION_COMPATIBLE FALSE)
  endif()
  if(PACKAGE_FIND_VERSION STREQUAL PACKAGE_VERSION)
    set(PACKAGE_VERSION_EXACT TRUE)
  endif()
endif()
CMAKE

echo "kevy $version ($profile) installed in $prefix"
echo "  build with: PKG_CONFIG_PATH=$prefix/lib/pkgconfig pkg-config --cflags --libs kevy"
echo "  or CMake:   -DCMAKE_PREFIX_PATH=$prefix, find_package(kevy), target kevy::kevy"
