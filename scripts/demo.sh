#!/usr/bin/env bash
# Sets everything up, builds the release configuration and runs the main job.
#
# Usage: scripts/demo.sh [extra arguments for the main job]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="$ROOT/build/release"

# The main job: `fstore demo` runs the whole five-step pipeline (events ->
# aggregate -> feature topic -> tailing store -> model -> predictions) on
# librdkafka's in-process mock cluster (no broker) and prints the latency
# of each stage beside Kafka's own, per-stage figures and one user's story.
# Extra arguments go to it (see `fstore demo --help`).
main_job() {
    run "$BUILD/tools/fstore" demo "$@"
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
