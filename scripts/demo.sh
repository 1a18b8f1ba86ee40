#!/usr/bin/env bash
# Sets everything up, builds the release configuration and runs the main job.
#
# Usage: scripts/demo.sh [extra arguments for the main job]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/release"

# The main job. Today it is the point/batch lookup benchmark: it loads rows
# into a store and times fstore_get and fstore_get_batch against a raw
# mdb_get loop. When the CLI gains `fstore demo`, make this
#     run "$BUILD/tools/fstore" demo "$@"
main_job() {
    run "$BUILD/bench/bench_get_bench" --rows 200000 "$@"
}

run() {
    if [ ! -x "$1" ]; then
        echo "demo: $1 was not built" >&2
        exit 1
    fi
    echo "demo: running $*"
    "$@"
}

"$ROOT/scripts/setup.sh"
"$ROOT/scripts/build.sh" release
main_job "$@"
