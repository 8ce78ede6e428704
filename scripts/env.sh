# Shared build environment for Floe's scripts (sourced, not executed).
# The cargo target directory lives outside the work tree so DuckDB's C++ build
# (about 90 CPU-minutes) survives fresh clones; ccache keeps the C++ objects even if
# the build script has to run again.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/floe/target}"
if [ -x /usr/lib/ccache/gcc ]; then
  export CC=/usr/lib/ccache/gcc CXX=/usr/lib/ccache/g++
  export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/floe/ccache}"
  export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-20G}"
fi
export FLOE_CACHE="${FLOE_CACHE:-$HOME/.cache/floe}"
