#!/usr/bin/env bash
# Configures and builds fstore into build/<kind> with Ninja.
#
# Usage: scripts/build.sh [release|asan|tsan|fuzz] [extra cmake -D options...]
#   release  optimised build (the default)
#   asan     Debug build with AddressSanitizer and UndefinedBehaviorSanitizer
#   tsan     RelWithDebInfo build with ThreadSanitizer, against an instrumented
#            librdkafka (scripts/rdkafka-tsan.sh builds it on first use)
#   fuzz     clang build with the libFuzzer targets, ASan and UBSan
#
# Warnings are errors when CI=true, or when FSTORE_WERROR=ON is set.
# The compiler is CMake's default (cc) unless CC says otherwise; fuzz uses
# clang. Expects the dependencies from scripts/setup.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KIND="${1:-release}"
[ $# -gt 0 ] && shift

case "$KIND" in
release)
    ARGS=(-DCMAKE_BUILD_TYPE=Release) ;;
asan)
    ARGS=(-DCMAKE_BUILD_TYPE=Debug "-DFSTORE_SANITIZE=address;undefined") ;;
tsan)
    ARGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DFSTORE_SANITIZE=thread) ;;
fuzz)
    ARGS=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang
          -DFSTORE_BUILD_FUZZ=ON "-DFSTORE_SANITIZE=address;undefined") ;;
-h|--help)
    sed -n '2,13s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
    exit 0 ;;
*)
    echo "build: unknown kind '$KIND' (release, asan, tsan or fuzz)" >&2
    exit 2 ;;
esac

if [ "${CI:-}" = "true" ]; then
    WERROR="${FSTORE_WERROR:-ON}"
else
    WERROR="${FSTORE_WERROR:-OFF}"
fi

BUILD="$ROOT/build/$KIND"
JOBS="$(nproc 2>/dev/null || echo 2)"

# TSan links the instrumented librdkafka of scripts/rdkafka-tsan.sh (built
# on first use), so that the tests that start a Kafka client run under TSan
# too. A cache configured against another librdkafka is configured afresh.
if [ "$KIND" = tsan ]; then
    RDK="$("$ROOT/scripts/rdkafka-tsan.sh")"
    export PKG_CONFIG_PATH="$RDK/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
    if [ -f "$BUILD/CMakeCache.txt" ] &&
        ! grep -q "^pkgcfg_lib_RDKAFKA_rdkafka:FILEPATH=$RDK/" "$BUILD/CMakeCache.txt"; then
        rm -f "$BUILD/CMakeCache.txt"
    fi
fi

echo "build: configuring $KIND in $BUILD (warnings as errors: $WERROR)"
cmake -S "$ROOT" -B "$BUILD" -G Ninja "${ARGS[@]}" \
    -DFSTORE_WERROR="$WERROR" -DCMAKE_EXPORT_COMPILE_COMMANDS=ON "$@"
echo "build: building $KIND with $JOBS jobs"
cmake --build "$BUILD" --parallel "$JOBS"
echo "build: $KIND done: $BUILD"
