#!/usr/bin/env bash
# Installs every system dependency of fstore from Debian packages.
#
# Idempotent: when every package is already installed it only checks and
# returns, without touching the package index. Run as root, or as a user with
# sudo. Usage: scripts/setup.sh
set -euo pipefail

# Build toolchain and the libraries libfstore links.
PACKAGES=(
    build-essential cmake ninja-build pkg-config
    librdkafka-dev liblmdb-dev lmdb-utils libxxhash-dev libzstd-dev
    libavro-dev libjansson-dev libcurl4-openssl-dev
    # tests: Criterion suites, libFuzzer (clang + its runtime), formatting
    libcriterion-dev clang libclang-rt-14-dev clang-format
    # the TSan build's own librdkafka (scripts/rdkafka-tsan.sh): its
    # build dependencies
    patch libssl-dev liblz4-dev zlib1g-dev
    # the real Kafka broker for integration tests (jars resolved by Maven;
    # ss from iproute2 checks its ports)
    default-jdk-headless maven kcat iproute2
    # Python bindings (a cffi extension) and their tests
    python3-dev python3-venv python3-pip
    # benchmark baselines and plots
    redis-server librocksdb-dev libhiredis-dev gnuplot-nox
)

log() { printf 'setup: %s\n' "$*"; }

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

missing=()
for pkg in "${PACKAGES[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
    log "all ${#PACKAGES[@]} Debian packages already installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    log "missing packages: ${missing[*]}" >&2
    log "not root and no sudo: install them as root, then run this again" >&2
    exit 1
fi

log "missing packages: ${missing[*]}"
# Wait for another package manager run instead of failing at once.
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive
     apt-get -o DPkg::Lock::Timeout=600)
log "running apt-get update"
"${APT[@]}" update </dev/null
log "running apt-get install ${missing[*]}"
"${APT[@]}" install -y --no-install-recommends "${missing[@]}" </dev/null

still=()
for pkg in "${missing[@]}"; do
    installed "$pkg" || still+=("$pkg")
done
if [ "${#still[@]}" -ne 0 ]; then
    log "still missing after install: ${still[*]}" >&2
    exit 1
fi
log "installed ${#missing[@]} packages"
