#!/usr/bin/env bash
# Regenerates docs/configuration.md from the property table in
# libfstore/src/conf.c (the `docs` target of tests/docs), building only the
# generator. The ctest test docs.configuration fails until this has been run
# after a change to the table.
#
# Usage: scripts/gen-docs.sh [BUILD_DIR]
#   BUILD_DIR  a CMake build tree (default build/release; configured as a
#              release build when absent)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-$ROOT/build/release}"

case "${BUILD}" in
-h|--help)
    sed -n '2,9s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
    exit 0 ;;
esac

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$BUILD" --target docs
git -C "$ROOT" diff --stat -- docs/configuration.md 2>/dev/null || true
