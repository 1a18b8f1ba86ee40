#!/usr/bin/env bash
# Checks an installed fstore from a consumer's side.
#
# Usage: check_install.sh BUILD_DIR CONSUMER_SRC WORK_DIR EXPECTED_VERSION
#                         [README]
# Environment: CC, CMAKE_COMMAND, CMAKE_GENERATOR (set by the ctest entry).
#
# 1. cmake --install BUILD_DIR --prefix WORK_DIR/prefix
# 2. find_package(fstore): build the consumer against fstore::fstore and
#    fstore::fstore_static, run both.
# 3. pkg-config: compile the consumer with `pkg-config --cflags --libs fstore`
#    (shared), and against libfstore.a with the .pc's private requirements
#    (static), run both.
# Every program must print EXPECTED_VERSION and open a store.
# 4. With README: every ```c block of README.md builds against the installed
#    package; the first runs and prints what the README says it prints.
set -euo pipefail

build="$1" consumer="$2" work="$3" expected="$4" readme="${5:-}"
cc="${CC:-cc}"
cmake="${CMAKE_COMMAND:-cmake}"
generator="${CMAKE_GENERATOR:-Ninja}"

rm -rf "$work"
mkdir -p "$work"
prefix="$work/prefix"

fail() { echo "FAIL: $*" >&2; exit 1; }

# Runs one consumer program: it must print the version and open a store.
check_program() {
    local name="$1" prog="$2" out
    out="$("$prog" "$work/store-$name")" || fail "$name exited with $?"
    [ "$out" = "$expected" ] ||
        fail "$name printed '$out', expected '$expected'"
    [ -e "$work/store-$name" ] || fail "$name created no store"
    echo "ok: $name printed $out and opened a store"
}

echo "== cmake --install $build --prefix $prefix"
"$cmake" --install "$build" --prefix "$prefix"

echo "== find_package(fstore)"
"$cmake" -S "$consumer" -B "$work/consumer" -G "$generator" \
    -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$prefix" \
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
"$cmake" --build "$work/consumer"
check_program cmake-shared "$work/consumer/consumer_shared"
check_program cmake-static "$work/consumer/consumer_static"
# The shared consumer must really load the installed library. (ldd output
# is captured first: with pipefail, grep -q closing the pipe early would fail
# the pipeline.)
deps="$(ldd "$work/consumer/consumer_shared")"
grep -q "$prefix/.*libfstore\.so" <<<"$deps" ||
    fail "consumer_shared does not load libfstore.so from $prefix"

echo "== pkg-config fstore"
pcdir="$(dirname "$(find "$prefix" -name fstore.pc -print -quit)")"
[ -d "$pcdir" ] || fail "no fstore.pc under $prefix"
export PKG_CONFIG_PATH="$pcdir"
pc_version="$(pkg-config --modversion fstore)"
[ "$pc_version" = "$expected" ] ||
    fail "fstore.pc says version '$pc_version', expected '$expected'"
libdir="$(pkg-config --variable=libdir fstore)"

# shellcheck disable=SC2046 # pkg-config output is a list of flags
"$cc" -o "$work/pc-shared" "$consumer/main.c" \
    $(pkg-config --cflags --libs fstore) -Wl,-rpath,"$libdir"
check_program pc-shared "$work/pc-shared"

# Static: libfstore.a, then the modules of the .pc's Requires.private and its
# Libs.private. The dependencies link as shared libraries here: a fully
# static closure (pkg-config --static) also needs whatever those modules list
# privately, which on Debian includes -dev packages that libcurl4-openssl-dev
# does not pull in.
mods="$(pkg-config --print-requires-private fstore | cut -d' ' -f1 | tr '\n' ' ')"
[ -n "$mods" ] || fail "fstore.pc has no Requires.private"
libs_private="$(sed -n 's/^Libs\.private: *//p' "$pcdir/fstore.pc")"
echo "Requires.private: $mods; Libs.private: $libs_private"
# shellcheck disable=SC2046,SC2086
"$cc" -o "$work/pc-static" "$consumer/main.c" $(pkg-config --cflags fstore) \
    "$libdir/libfstore.a" $(pkg-config --libs $mods) $libs_private
deps="$(ldd "$work/pc-static")"
if grep -q libfstore <<<"$deps"; then
    fail "pc-static links libfstore dynamically"
fi
check_program pc-static "$work/pc-static"

if [ -n "$readme" ]; then
    echo "== README examples"
    # Every ```c block is a whole program: each must build warning-free
    # against the installed package. The first runs here; the others need a
    # Kafka broker and are only built.
    awk -v dir="$work" '
        /^```c$/ { n++; f = dir "/readme" n ".c"; next }
        /^```$/  { f = ""; next }
        f        { print > f }' "$readme"
    [ -s "$work/readme1.c" ] || fail "no \`\`\`c block in $readme"
    for src in "$work"/readme*.c; do
        # shellcheck disable=SC2046
        "$cc" -Wall -Wextra -Werror -o "${src%.c}" "$src" \
            $(pkg-config --cflags --libs fstore) -Wl,-rpath,"$libdir" ||
            fail "README example $(basename "$src") does not build"
        echo "ok: $(basename "$src") builds"
    done
    out="$(cd "$work" && ./readme1)" || fail "README example exited with $?"
    printf '%s\n' "$out"
    grep -qx 'u42: clicks=21 score=0.50 (offset 7)' <<<"$out" ||
        fail "README example printed an unexpected row"
    grep -qx 'matrix: \[21 0.5\] \[nan nan\], found 1 0' <<<"$out" ||
        fail "README example printed an unexpected matrix"
fi

echo "install test passed: version $expected"
