#!/usr/bin/env bash
# Builds librdkafka for the ThreadSanitizer build and prints its prefix.
#
# The packaged librdkafka starts its threads with C11 thrd_create, which
# ThreadSanitizer does not intercept: under TSan the first allocation on such
# a thread crashes. This script builds the same version from Debian's source
# package (with Debian's patches), instrumented with -fsanitize=thread and
# with C11 threads disabled (it then uses pthreads, which TSan sees), into
# build/deps/rdkafka-tsan-<version>. scripts/build.sh tsan calls it and
# points pkg-config there, so every test that starts a Kafka client runs
# under TSan too. Nothing is installed system-wide except a deb-src entry
# (made from the machine's own deb entries) so that apt can fetch sources.
#
# Idempotent: a finished build of the installed version is reused.
# Usage: scripts/rdkafka-tsan.sh   (prints the prefix on stdout; logs on stderr)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf 'rdkafka-tsan: %s\n' "$*" >&2; }

VERSION="$(dpkg-query -W -f='${source:Version}' librdkafka-dev 2>/dev/null || true)"
if [ -z "$VERSION" ]; then
    log "librdkafka-dev is not installed: run scripts/setup.sh first"
    exit 1
fi
UPSTREAM="${VERSION#*:}"
UPSTREAM="${UPSTREAM%-*}"
DEPS="$ROOT/build/deps"
PREFIX="$DEPS/rdkafka-tsan-$VERSION"
if [ -f "$PREFIX/.done" ]; then
    echo "$PREFIX"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    SUDO=(false)
fi
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive
     apt-get -o DPkg::Lock::Timeout=600)

# A deb-src entry for every deb entry the machine has, unless one exists.
have_src() {
    grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list \
        /etc/apt/sources.list.d/
}
if ! have_src; then
    list="$(mktemp)"
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && sed -E 's/^Types:.*/Types: deb-src/' "$f" >>"$list" \
            && echo >>"$list"
    done
    if [ -s "$list" ]; then
        "${SUDO[@]}" cp "$list" /etc/apt/sources.list.d/fstore-deb-src.sources
    else
        for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
            [ -f "$f" ] && sed -n 's/^deb /deb-src /p' "$f" >>"$list"
        done
        [ -s "$list" ] || { log "no apt sources to derive deb-src from"; exit 1; }
        "${SUDO[@]}" cp "$list" /etc/apt/sources.list.d/fstore-deb-src.list
    fi
    rm -f "$list"
    log "added deb-src entries; running apt-get update"
    "${APT[@]}" update -q </dev/null >&2
fi

WORK="$DEPS/rdkafka-tsan-src"
rm -rf "$WORK" "$PREFIX"
mkdir -p "$WORK"
log "fetching the source of librdkafka $VERSION"
(cd "$WORK" && apt-get source -q --download-only "librdkafka=$VERSION" >&2) || {
    # A stale package index lacks the source: refresh it once.
    "${APT[@]}" update -q </dev/null >&2
    (cd "$WORK" && apt-get source -q --download-only "librdkafka=$VERSION" >&2)
}
tar -xzf "$WORK"/librdkafka_"$UPSTREAM".orig.tar.gz -C "$WORK"
SRC="$WORK/librdkafka-$UPSTREAM"
tar -xJf "$WORK"/librdkafka_"$VERSION".debian.tar.xz -C "$SRC"
if [ -f "$SRC/debian/patches/series" ]; then
    while read -r p _; do
        case "$p" in ''|'#'*) continue ;; esac
        patch -d "$SRC" -p1 -s <"$SRC/debian/patches/$p"
    done <"$SRC/debian/patches/series"
fi

log "building librdkafka $UPSTREAM with -fsanitize=thread (about a minute)"
(
    cd "$SRC"
    CFLAGS="-fsanitize=thread -g -O1" LDFLAGS="-fsanitize=thread" \
        ./configure --prefix="$PREFIX" --disable-c11threads \
        --disable-gssapi --disable-curl >"$WORK/configure.log" 2>&1 \
        || { tail -30 "$WORK/configure.log" >&2; exit 1; }
    grep -q '#define ENABLE_C11THREADS 0' config.h \
        || { log "C11 threads still enabled"; exit 1; }
    make -j"$(nproc)" -C src >"$WORK/make.log" 2>&1 \
        || { tail -30 "$WORK/make.log" >&2; exit 1; }
    make -C src install >"$WORK/install.log" 2>&1 \
        || { tail -30 "$WORK/install.log" >&2; exit 1; }
)
rm -rf "$WORK"
touch "$PREFIX/.done"
log "done: $PREFIX"
echo "$PREFIX"
