
# Shared build environment for Floe's scripts (sourced, not executed).
# The cargo target directory lives outside the work tree so DuckDB's C++ build
# (about 90 CPU-minutes) survives fresh clones; ccache keeps the C++ objects even if
# the build script has to run again. DuckDB is compiled with clang 19 where it is
# installed (scripts/setup-test-deps installs it): clang's code runs 10-15% faster
# than GCC 12's on TPC-H (bench/RESULTS.md). Each compiler has its own target
# directory, so switching never throws a finished DuckDB build away.
if [ -x /usr/lib/ccache/clang-19 ] && [ -x /usr/lib/ccache/clang++-19 ]; then
  export CC=/usr/lib/ccache/clang-19 CXX=/usr/lib/ccache/clang++-19
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/floe/target-clang19}"
elif [ -x /usr/lib/ccache/clang-16 ] && [ -x /usr/lib/ccache/clang++-16 ]; then
  export CC=/usr/lib/ccache/clang-16 CXX=/usr/lib/ccache/clang++-16
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/floe/target-clang}"
elif [ -x /usr/lib/ccache/gcc ]; then
  export CC=/usr/lib/ccache/gcc CXX=/usr/lib/ccache/g++
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/floe/target}"
if command -v ccache >/dev/null; then
  export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/floe/ccache}"
  export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-20G}"
fi
export FLOE_CACHE="${FLOE_CACHE:-$HOME/.cache/floe}"
