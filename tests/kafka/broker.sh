#!/usr/bin/env bash
# Run a real single-node Apache Kafka broker (KRaft, broker+controller in one
# JVM) on 127.0.0.1 for fstore's tests and benchmarks.
#
#   tests/kafka/broker.sh deps                 install missing system packages
#   tests/kafka/broker.sh fetch                resolve the broker jars (cached)
#   BROKERS=$(tests/kafka/broker.sh start [--dir DIR] [--set key=value]...
#                                         [--security plaintext|sasl_ssl]
#                                         [--cpus LIST])
#   tests/kafka/broker.sh status|bootstrap|log|client-config [--dir DIR]
#   tests/kafka/broker.sh restart [--dir DIR] [--kill]
#   tests/kafka/broker.sh stop [--dir DIR] [--keep] [--kill]
#   tests/kafka/broker.sh create-topic [--dir DIR] [--fast-compaction] NAME PARTITIONS [key=value ...]
#   tests/kafka/broker.sh add-partitions [--dir DIR] NAME TOTAL
#   tests/kafka/broker.sh delete-topic|describe-topic [--dir DIR] NAME
#   tests/kafka/broker.sh tool [--dir DIR] COMMAND ARGS...
#   tests/kafka/broker.sh tool-path
#
# start --security sasl_ssl: the client listener takes only SASL_SSL with
# SCRAM-SHA-512, under a certificate of a CA made for this run, and the
# broker is Kafka 3.9.2 unless FSTORE_KAFKA_VERSION is set (SCRAM from
# librdkafka < 2.6.1 fails on 4.x). What a client needs besides the address
# is in RUN/client.properties, librdkafka properties one key=value a line
# (security.protocol, sasl.mechanisms, sasl.username, sasl.password,
# ssl.ca.location; `kcat -F FILE` reads it as it is); `client-config`
# prints its path. The topic commands use it by themselves.
#
# start --cpus LIST: the broker's JVM runs only on those CPUs (taskset
# syntax, e.g. 0 or 0-1), and so does every restart of it: with the
# clients pinned to the other CPUs, a benchmark measures fstore and Kafka
# without one preempting the other.
#
# See docs/kafka-broker.md for the why behind every setting.
#
# Only `start`, `restart` and `bootstrap` write to stdout (the bootstrap
# address, one line) so callers can capture it, and `log` and
# `client-config` (a path, one line); everything else that is progress or
# diagnostics goes to stderr.

set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Kafka 4.4.0 is the newest release at the time of writing and was verified
# against Debian's librdkafka 2.0.2 (metadata, produce, fetch, idempotent and
# transactional producers, read_committed, consumer groups, CreateTopics,
# CreatePartitions, DescribeConfigs, DeleteTopics).  FSTORE_KAFKA_VERSION
# selects another release; 3.9.x also works (see the doc).
KAFKA_VERSION=${FSTORE_KAFKA_VERSION:-4.4.0}
# A secured broker (--security sasl_ssl) runs this release unless
# FSTORE_KAFKA_VERSION says otherwise: librdkafka before 2.6.1 (Debian 12
# ships 2.0.2) repeats the client nonce in its SCRAM client-final-message,
# which Kafka 4.x refuses ("invalid credentials") and 3.x lets through, so
# no SCRAM login from fstore's librdkafka can succeed on a 4.x broker.
SECURE_KAFKA_VERSION=3.9.2
CACHE_ROOT=${FSTORE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/fstore}
KAFKA_HOME=$CACHE_ROOT/kafka-$KAFKA_VERSION
LIBS=$KAFKA_HOME/libs
# Pinned so that resolution does not depend on whatever plugin version Maven
# happens to default to.
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.8.1

JAVA=${JAVA:-java}
MVN=${MVN:-mvn}
KCAT=${KCAT:-kcat}
CC=${CC:-cc}
HEAP=${FSTORE_KAFKA_HEAP:-512m}
START_TIMEOUT=${FSTORE_KAFKA_START_TIMEOUT:-90}
STOP_TIMEOUT=${FSTORE_KAFKA_STOP_TIMEOUT:-30}
DEFAULT_STATE=${FSTORE_KAFKA_STATE:-/tmp/fstore-kafka/state}

# Marker that says "this directory was made by broker.sh": nothing is ever
# deleted recursively unless it carries this file, so a mistyped --dir can
# not wipe anything else.
MARKER=.fstore-kafka-run

# The topic configs that make the log cleaner compact within about a second
# (docs/kafka-broker.md explains each one).
FAST_COMPACTION=(
    cleanup.policy=compact
    segment.ms=100
    min.cleanable.dirty.ratio=0.01
    delete.retention.ms=100
    max.compaction.lag.ms=100
    min.compaction.lag.ms=0
)

log() { printf 'broker.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

set_kafka_version() {
    KAFKA_VERSION=$1
    KAFKA_HOME=$CACHE_ROOT/kafka-$KAFKA_VERSION
    LIBS=$KAFKA_HOME/libs
}

usage() {
    sed -n '2,/^# See docs/p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

need() {
    # $1 command, $2 hint
    command -v "$1" >/dev/null 2>&1 || die "'$1' not found; $2 (or run: $0 deps)"
}

# ---------------------------------------------------------------- deps ----

cmd_deps() {
    # Installs what the script needs on a Debian machine.  Explicit only:
    # nothing else in this script installs system packages.
    local pkgs=()
    command -v "$JAVA" >/dev/null 2>&1 || pkgs+=(openjdk-17-jre-headless)
    command -v "$MVN" >/dev/null 2>&1 || pkgs+=(maven)
    command -v "$KCAT" >/dev/null 2>&1 || pkgs+=(kcat)
    command -v "$CC" >/dev/null 2>&1 || pkgs+=(gcc libc6-dev)
    [[ -f /usr/include/librdkafka/rdkafka.h ]] || pkgs+=(librdkafka-dev)
    command -v ss >/dev/null 2>&1 || pkgs+=(iproute2)
    if ((${#pkgs[@]} == 0)); then
        log "all dependencies present"
        return 0
    fi
    command -v apt-get >/dev/null 2>&1 || die "missing: ${pkgs[*]} (no apt-get here; install them by hand)"
    [[ $(id -u) == 0 ]] || die "missing: ${pkgs[*]} (run as root to install)"
    log "installing: ${pkgs[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >&2
}

# --------------------------------------------------------------- fetch ----

# Debian's Maven 3.8 prints ANSI colour resets even with -B -q (and has no
# --color option yet); strip them so logs stay readable.
decolor() { sed -e 's/\x1b\[[0-9;]*m//g'; }

cmd_fetch() {
    if [[ -f $LIBS/.fstore-complete ]]; then
        # Cached: no Maven run at all, so this works offline and in ~0 s.
        return 0
    fi
    need "$MVN" "install Maven"
    mkdir -p "$KAFKA_HOME"
    # Serialise concurrent fetches of the same version (parallel test runs).
    exec 8>"$KAFKA_HOME/.lock"
    flock -w 600 8 || die "timed out waiting for another fetch of $KAFKA_VERSION"
    if [[ -f $LIBS/.fstore-complete ]]; then
        exec 8>&-
        return 0
    fi
    log "resolving org.apache.kafka:kafka_2.13:$KAFKA_VERSION with Maven into $LIBS"
    local work
    work=$(mktemp -d "$KAFKA_HOME/work.XXXXXX")
    # shellcheck disable=SC2064  # expand $work now: it is local
    trap "rm -rf '$work'" EXIT

    # Pass 1: resolve kafka_2.13 alone to learn which logging API versions it
    # pins.  The broker pom declares slf4j-api and (4.x) log4j-core but no
    # SLF4J binding; the release tarball adds one.  Without a binding the
    # broker logs nothing at all, and we need its log (readiness failures,
    # "cleaned log" lines).
    sed -e "s/@KAFKA_VERSION@/$KAFKA_VERSION/" "$HERE/pom.xml.in" >"$work/pom.xml"
    "$MVN" -B -q -f "$work/pom.xml" "$DEP_PLUGIN:list" -DincludeScope=runtime \
        -DoutputFile="$work/deps.txt" 2>&1 | decolor >&2 \
        || die "Maven could not resolve kafka_2.13:$KAFKA_VERSION"
    local log4j slf4j binding
    log4j=$(grep -oE 'org\.apache\.logging\.log4j:log4j-core:jar:[^:]+' "$work/deps.txt" | head -n1 | cut -d: -f4 || true)
    slf4j=$(grep -oE 'org\.slf4j:slf4j-api:jar:[^:]+' "$work/deps.txt" | head -n1 | cut -d: -f4 || true)
    if [[ -n $log4j ]]; then
        # Kafka 4.x logs through log4j2; bind SLF4J 1.7 to it with the
        # binding of exactly the same log4j2 version.
        binding="<dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$log4j</version></dependency>"
    elif [[ -n $slf4j ]]; then
        # Kafka 3.x ships reload4j (log4j 1 syntax) in its tarball.
        binding="<dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>$slf4j</version></dependency>"
    else
        die "kafka_2.13:$KAFKA_VERSION depends on neither log4j-core nor slf4j-api; cannot pick a logging binding"
    fi

    # Pass 2: the same pom plus the binding; copy every runtime jar.
    sed -e "s/@KAFKA_VERSION@/$KAFKA_VERSION/" -e "s#<!-- @BINDING@ -->#$binding#" \
        "$HERE/pom.xml.in" >"$work/pom.xml"
    "$MVN" -B -q -f "$work/pom.xml" "$DEP_PLUGIN:copy-dependencies" -DincludeScope=runtime \
        -DoutputDirectory="$work/libs" 2>&1 | decolor >&2 \
        || die "Maven could not copy the broker jars"
    [[ -f $work/libs/kafka_2.13-$KAFKA_VERSION.jar ]] || die "kafka_2.13-$KAFKA_VERSION.jar missing after copy"
    compgen -G "$work/libs/log4j-slf4j-impl-*.jar" >/dev/null ||
        compgen -G "$work/libs/slf4j-reload4j-*.jar" >/dev/null ||
        die "logging binding missing after copy"
    printf 'version=%s\nlog4j=%s\nslf4j=%s\n' "$KAFKA_VERSION" "${log4j:-}" "${slf4j:-}" \
        >"$work/libs/.fstore-complete"
    # Replace atomically-enough: a reader either sees no .fstore-complete or
    # a complete directory.
    rm -rf "$LIBS"
    mv "$work/libs" "$LIBS"
    rm -rf "$work"
    trap - EXIT
    exec 8>&-
    log "cached $(find "$LIBS" -name '*.jar' | wc -l) jars in $LIBS"
}

# ---------------------------------------------------------- C checker ----

tool_path() {
    # The admin/protocol checker is compiled on demand into the cache, keyed
    # by the hash of its sources (with the support library's topic admin) so
    # an edited source is rebuilt and the work tree stays free of build
    # output.
    local src=$HERE/kafka_tool.c sup=$HERE/../../support sum bin
    sum=$(cat "$src" "$sup/kafka_admin.c" "$sup/include/support/kafka_admin.h" |
        sha256sum | cut -c1-16)
    bin=$CACHE_ROOT/tools/fstore-kafka-tool-$sum
    if [[ ! -x $bin ]]; then
        need "$CC" "install a C compiler"
        [[ -f /usr/include/librdkafka/rdkafka.h ]] || die "librdkafka headers missing; apt-get install librdkafka-dev (or run: $0 deps)"
        mkdir -p "$CACHE_ROOT/tools"
        local tmp
        tmp=$(mktemp "$CACHE_ROOT/tools/.build.XXXXXX")
        if ! "$CC" -O2 -Wall -Wextra -I"$sup/include" -o "$tmp" "$src" \
            "$sup/kafka_admin.c" -lrdkafka >&2; then
            rm -f "$tmp"
            die "compiling $src failed"
        fi
        mv -f "$tmp" "$bin"
    fi
    printf '%s\n' "$bin"
}

# --------------------------------------------------------------- state ----

# Globals set by parse_opts.
OPT_DIR=
OPT_KEEP=0
OPT_KILL=0
OPT_FAST=0
OPT_SETS=()
OPT_SECURITY=
OPT_CPUS=
ARGS=()

parse_opts() {
    while (($#)); do
        case $1 in
        --dir)
            (($# >= 2)) || die "--dir needs a directory"
            OPT_DIR=$2
            shift 2
            ;;
        --dir=*) OPT_DIR=${1#--dir=}; shift ;;
        --keep) OPT_KEEP=1; shift ;;
        --kill) OPT_KILL=1; shift ;;
        --fast-compaction) OPT_FAST=1; shift ;;
        --security)
            (($# >= 2)) || die "--security needs plaintext or sasl_ssl"
            OPT_SECURITY=$2
            shift 2
            ;;
        --security=*) OPT_SECURITY=${1#--security=}; shift ;;
        --cpus)
            (($# >= 2)) || die "--cpus needs a CPU list (e.g. 0 or 0-1)"
            OPT_CPUS=$2
            shift 2
            ;;
        --cpus=*) OPT_CPUS=${1#--cpus=}; shift ;;
        --set)
            (($# >= 2)) || die "--set needs key=value"
            [[ $2 == ?*=* ]] || die "--set needs key=value, got '$2'"
            OPT_SETS+=("$2")
            shift 2
            ;;
        --) shift; ARGS+=("$@"); break ;;
        -h | --help) usage ;;
        -*) die "unknown option $1" ;;
        *) ARGS+=("$1"); shift ;;
        esac
    done
    case $OPT_SECURITY in
    '' | plaintext) ;;
    sasl_ssl)
        [[ -n ${FSTORE_KAFKA_VERSION:-} ]] || set_kafka_version "$SECURE_KAFKA_VERSION"
        ;;
    *) die "--security is plaintext or sasl_ssl, not '$OPT_SECURITY'" ;;
    esac
    if [[ -n $OPT_DIR ]]; then
        # Absolute, so the state and server.properties stay valid from any
        # working directory.  Created by `start` only.
        OPT_DIR=$(realpath -m -- "$OPT_DIR")
        STATE=$OPT_DIR/state
    else
        STATE=$DEFAULT_STATE
    fi
}

# State file: plain key=value lines, read with a parser rather than sourced
# so that a corrupt file can never execute anything.
declare -A ST=()
read_state() {
    ST=()
    [[ -f $STATE ]] || return 1
    local k v
    while IFS='=' read -r k v; do
        [[ -n $k && $k != \#* ]] && ST[$k]=$v
    done <"$STATE"
    [[ -n ${ST[run_dir]:-} ]]
}

write_state() {
    # $1 pid ("" when stopped with --keep)
    local tmp
    tmp=$(mktemp "$STATE.XXXXXX")
    {
        echo "# written by tests/kafka/broker.sh"
        echo "bootstrap=127.0.0.1:${ST[port]}"
        echo "port=${ST[port]}"
        echo "controller_port=${ST[controller_port]}"
        echo "pid=$1"
        echo "run_dir=${ST[run_dir]}"
        echo "log=${ST[run_dir]}/broker.log"
        echo "libs=${ST[libs]}"
        echo "version=${ST[version]}"
        [[ -z ${ST[cpus]:-} ]] || echo "cpus=${ST[cpus]}"
        # Only for a secured broker, so a plain one's state is unchanged.
        if [[ ${ST[security]:-plaintext} != plaintext ]]; then
            echo "security=${ST[security]}"
            echo "client_config=${ST[client_config]}"
        fi
    } >"$tmp"
    mv -f "$tmp" "$STATE"
}

lock_state() {
    # One lifecycle operation per state file at a time (parallel tests that
    # share the default state would otherwise race).
    mkdir -p "$(dirname "$STATE")"
    exec 9>"$STATE.lock"
    flock -w 120 9 || die "timed out waiting for the lock on $STATE"
}

# True if $1 is a live broker JVM started for run dir $2.  Checking the
# command line guards against a recycled pid after a reboot or a crash.
is_our_broker() {
    local pid=$1 run=$2 cmdline
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    [[ $cmdline == *kafka.Kafka* && $cmdline == *"$run/server.properties"* ]]
}

running() {
    read_state && is_our_broker "${ST[pid]:-}" "${ST[run_dir]}"
}

# -------------------------------------------------------------- ports -----

port_in_use() {
    # Any socket on the port, including TIME_WAIT leftovers, counts as used.
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Htan "( sport = :$1 )" 2>/dev/null) ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

pick_ports() {
    # Pick two free ports BELOW the kernel's ephemeral range.  Ports from the
    # ephemeral range can be handed to some client's outgoing connection
    # while the broker is down, which would break `restart` on the same
    # ports; below it only listeners compete.
    local lo hi base span p tries=0
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range || { lo=32768; hi=60999; }
    : "$hi"
    base=20000
    ((lo - 1 > base + 1000)) || base=10000
    span=$((lo - 1 - base))
    PORTS=()
    while ((${#PORTS[@]} < 2)); do
        ((tries++ < 500)) || die "no free port found between $base and $((lo - 1))"
        p=$((base + (RANDOM * 32768 + RANDOM) % span))
        [[ ${PORTS[0]-} == "$p" ]] && continue
        port_in_use "$p" && continue
        PORTS+=("$p")
    done
}

# ------------------------------------------------------------- launch -----

write_server_properties() {
    # $1 run dir, $2 port, $3 controller port.  SECURITY says which client
    # listener (the listener is named after its protocol).
    local run=$1 port=$2 cport=$3 proto=PLAINTEXT
    [[ $SECURITY == sasl_ssl ]] && proto=SASL_SSL
    cat >"$run/server.properties" <<EOF
# Generated by tests/kafka/broker.sh for a throwaway single-node test broker.
# KRaft combined mode: this one JVM is both the controller and the broker.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$cport
listeners=$proto://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=$proto://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
controller.listener.names=CONTROLLER
inter.broker.listener.name=$proto
listener.security.protocol.map=CONTROLLER:PLAINTEXT,$proto:$proto
log.dirs=$run/data

# One node: every internal topic must live with a single replica, or the
# group/transaction coordinators never come up.  One partition each keeps
# their first load fast.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
num.partitions=1

# Topics are created explicitly (create-topic) with the configs a test
# needs.  Auto-creation would silently make a delete-policy topic from a
# typo or a producer that runs first, and compaction tests would then pass
# or fail for the wrong reason.
auto.create.topics.enable=false

# After a crash (restart --kill) the controller refuses the broker's new
# registration until the dead incarnation's session expires: 9 s by
# default.  3 s (with heartbeats every 0.5 s) makes crash tests quicker while
# leaving room for GC pauses on a loaded 2-core machine.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000

# Consumer groups start immediately instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0

# Log cleaner: look for work every 200 ms (default 15 s), and a 16 MiB
# dedupe buffer (default 128 MiB, allocated on the heap) so a 512 MiB heap
# is plenty.
log.cleaner.backoff.ms=200
log.cleaner.dedupe.buffer.size=16777216
log.cleaner.threads=1
# Remove the files of cleaned or deleted segments after 1 s instead of 60 s
# so that long compaction tests do not pile up disk.
log.segment.delete.delay.ms=1000
# Start the log manager's periodic tasks (retention, flush checkpoints) 1 s
# after startup instead of 30 s (4.x; older brokers ignore it).
log.initial.task.delay.ms=1000
# Abort transactions whose client died within ~1 s of their timeout
# (default check interval 10 s): an open transaction pins the last stable
# offset and blocks compaction and read_committed consumers.
transaction.abort.timed.out.transaction.cleanup.interval.ms=1000
EOF
    [[ $SECURITY == sasl_ssl ]] && write_security_properties "$run"
    local kv
    for kv in "${OPT_SETS[@]+"${OPT_SETS[@]}"}"; do
        printf '%s\n' "$kv" >>"$run/server.properties"
    done
}

# ----------------------------------------------------------- security -----

# --security sasl_ssl: a CA and a broker certificate made with openssl for
# this run, SCRAM-SHA-512 credentials written into the KRaft metadata when
# the storage is formatted, and the client's settings in a file.  Secrets
# are drawn per run and live only in files of mode 0600 in the run dir.

SCRAM_MECHANISM=SCRAM-SHA-512
CLIENT_USER=fstore
BROKER_USER=broker
SECURITY=plaintext
declare -A SECRET=()

secret() {
    # 24 characters of [A-Za-z0-9]: nothing to quote in a JAAS line, a
    # properties file or the storage tool's --add-scram syntax.
    local s=
    while ((${#s} < 24)); do
        s+=$(head -c 32 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    done
    printf '%s' "${s:0:24}"
}

make_tls() {
    # $1 run dir.  RUN/tls: ca.pem (what clients trust), broker.crt and
    # broker.pem (the broker's certificate, then its key, encrypted PKCS#8:
    # a PEM key store file must hold an encrypted key).  EC P-256 keys, made
    # in milliseconds.  The CA key is deleted once the broker certificate is
    # signed.  The certificate names IP 127.0.0.1 in its subjectAltName,
    # because librdkafka 2.x checks the broker's address against it
    # (ssl.endpoint.identification.algorithm defaults to https) and so does
    # the broker's own client.
    local run=$1 t=$1/tls
    mkdir "$t"
    (
        umask 077
        set -e
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc \
            -keyout "$t/ca.key" -out "$t/ca.pem" -days 30 \
            -subj "/CN=fstore test CA $(basename "$run")" \
            -addext "basicConstraints=critical,CA:TRUE" \
            -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -noenc \
            -keyout "$t/broker.key" -out "$t/broker.csr" -subj "/CN=127.0.0.1"
        printf '%s\n' "subjectAltName=IP:127.0.0.1" "basicConstraints=critical,CA:FALSE" \
            "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth,clientAuth" \
            >"$t/broker.ext"
        openssl x509 -req -in "$t/broker.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
            -set_serial "0x$(openssl rand -hex 8)" -days 30 -extfile "$t/broker.ext" \
            -out "$t/broker.crt"
        # PKCS#5 v1.5 / PKCS#12 encryption: Kafka's PEM key store decrypts
        # with Java's SecretKeyFactory, which on Java 17 knows no PBES2
        # ("PBES2 SecretKeyFactory not available").  The key file is mode
        # 0600 in the run dir; the encryption is a format requirement.
        openssl pkcs8 -topk8 -v1 PBE-SHA1-3DES -in "$t/broker.key" \
            -passout "pass:${SECRET[key]}" -out "$t/broker.enc.key"
        cat "$t/broker.crt" "$t/broker.enc.key" >"$t/broker.pem"
        rm -f "$t/ca.key" "$t/broker.key" "$t/broker.enc.key" "$t/broker.csr" "$t/broker.ext"
        chmod 644 "$t/ca.pem" "$t/broker.crt"
    ) >"$run/tls.log" 2>&1 || {
        cat "$run/tls.log" >&2
        die "making the certificates failed (see $run/tls.log)"
    }
}

write_security_properties() {
    # $1 run dir.  Appended to server.properties (before any --set).
    local run=$1
    chmod 600 "$run/server.properties"
    cat >>"$run/server.properties" <<EOF

# --security sasl_ssl: the client listener takes SCRAM-SHA-512 over TLS
# only, and the broker's own client authenticates the same way as user
# $BROKER_USER.  The controller listener stays PLAINTEXT on 127.0.0.1: only
# this JVM uses it.  The credentials were written into the KRaft metadata
# by the storage tool (--add-scram), so they exist from the first start.
sasl.enabled.mechanisms=$SCRAM_MECHANISM
sasl.mechanism.inter.broker.protocol=$SCRAM_MECHANISM
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$BROKER_USER" password="${SECRET[broker]}";
ssl.keystore.type=PEM
ssl.keystore.location=$run/tls/broker.pem
ssl.key.password=${SECRET[key]}
ssl.truststore.type=PEM
ssl.truststore.location=$run/tls/ca.pem
EOF
}

write_client_config() {
    # $1 run dir.  librdkafka properties, as `kcat -F` and `fstore -X` take
    # them.
    local run=$1
    (
        umask 077
        cat >"$run/client.properties" <<EOF
# What a client of this broker needs (librdkafka properties), besides its
# address (broker.sh bootstrap).  Written by tests/kafka/broker.sh.
security.protocol=SASL_SSL
sasl.mechanisms=$SCRAM_MECHANISM
sasl.username=$CLIENT_USER
sasl.password=${SECRET[client]}
ssl.ca.location=$run/tls/ca.pem
EOF
    )
}

check_scram_versions() {
    # See SECURE_KAFKA_VERSION: refuse a pair that can never log in rather
    # than wait START_TIMEOUT for it.
    local lib
    lib=$("$KCAT" -V 2>/dev/null | grep -oE 'librdkafka [0-9]+\.[0-9]+\.[0-9]+' | head -n1 | cut -d' ' -f2)
    [[ -n $lib && ${KAFKA_VERSION%%.*} -ge 4 ]] || return 0
    if [[ $(printf '%s\n' "$lib" 2.6.1 | sort -V | head -n1) != 2.6.1 ]]; then
        die "librdkafka $lib cannot log in with SCRAM to Kafka $KAFKA_VERSION (fixed in librdkafka 2.6.1); leave FSTORE_KAFKA_VERSION unset for Kafka $SECURE_KAFKA_VERSION"
    fi
}

prepare_security() {
    # $1 run dir.  Everything --security sasl_ssl needs before formatting.
    local run=$1
    SECRET=([client]=$(secret) [broker]=$(secret) [key]=$(secret))
    make_tls "$run"
    write_client_config "$run"
}

java_cmd() {
    # $1 run dir, $2 libs dir.  Fills the JCMD array.
    local run=$1 libs=$2
    JCMD=(
        "$JAVA"
        "-Xms$HEAP" "-Xmx$HEAP"
        -XX:+UseG1GC
        # Fail loudly instead of limping on after an OutOfMemoryError.
        -XX:+ExitOnOutOfMemoryError
        -Djava.awt.headless=true
        # Kafka and snappy/zstd unpack native code into java.io.tmpdir; keep
        # it inside the run dir so it is writable and cleaned up with it.
        "-Djava.io.tmpdir=$run/tmp"
        "-Dlog4j2.configurationFile=$run/log4j2.properties"
        "-Dlog4j.configuration=file:$run/log4j.properties"
        "-Dkafka.logs.dir=$run"
    )
    # Extra JVM flags, split on whitespace (e.g. -XX:TieredStopAtLevel=1 for
    # a quicker start on a busy machine, at some cost in throughput).
    local extra=()
    read -r -a extra <<<"${FSTORE_KAFKA_JVM_OPTS:-}"
    JCMD+=("${extra[@]+"${extra[@]}"}" -cp "$libs/*")
}

format_storage() {
    # $1 run dir.  A KRaft log dir must be formatted with a cluster id before
    # first start.  Kafka's cluster ids are 16 random bytes in unpadded
    # base64url (22 chars); making one here saves a JVM start
    # (StorageTool random-uuid).
    local run=$1 id
    # An id starting with '-' reads as an option to the storage tool's
    # argument parser (1 start in 64 failed); Kafka's own generator redraws
    # such ids too.
    id=-
    while [ "${id#-}" != "$id" ]; do
        id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
    done
    java_cmd "$run" "$LIBS"
    # --standalone: this node is the sole voter of a dynamic quorum
    # (controller.quorum.bootstrap.servers, KIP-853).
    local scram=()
    if [[ $SECURITY == sasl_ssl ]]; then
        scram=(--add-scram "$SCRAM_MECHANISM=[name=$CLIENT_USER,password=${SECRET[client]}]"
            --add-scram "$SCRAM_MECHANISM=[name=$BROKER_USER,password=${SECRET[broker]}]")
    fi
    if ! "${JCMD[@]}" kafka.tools.StorageTool format --standalone \
        --cluster-id "$id" --config "$run/server.properties" "${scram[@]+"${scram[@]}"}" \
        </dev/null >"$run/format.log" 2>&1; then
        tail -n 30 "$run/format.log" >&2
        die "formatting the KRaft storage failed (full output: $run/format.log)"
    fi
}

launch() {
    # $1 run dir, $2 libs dir, $3 CPU list or "".  Starts the JVM detached,
    # sets LAUNCHED_PID.
    local run=$1 libs=$2 cpus=${3:-} i
    java_cmd "$run" "$libs"
    [[ -z $cpus ]] || JCMD=(taskset -c "$cpus" "${JCMD[@]}")
    rm -f "$run/pid"
    # setsid: the broker gets its own session, so a Ctrl-C or a signal aimed
    # at the caller's process group does not take it down half-way through a
    # test; `stop` is the way to end it.  The inner shell records its own
    # pid and then execs the JVM, so the pid is the JVM's whatever setsid
    # does (it forks when the caller is a process group leader).
    # stdin/stdout/stderr are all redirected: a broker still holding the
    # caller's stdout would make `$(broker.sh start)` wait forever.  The
    # lock descriptors (8, 9) are closed too: a JVM inheriting them would
    # hold the state lock for its whole life.
    # shellcheck disable=SC2016  # $$ and $1 are for the inner shell
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' fstore-kafka-broker \
        "$run/pid" "${JCMD[@]}" kafka.Kafka "$run/server.properties" \
        </dev/null >>"$run/broker.log" 2>&1 8>&- 9>&- &
    for ((i = 0; i < 100; i++)); do
        [[ -s $run/pid ]] && break
        sleep 0.05
    done
    LAUNCHED_PID=$(cat "$run/pid" 2>/dev/null || true)
    [[ -n $LAUNCHED_PID ]] || die "broker process did not start"
}

fail_start() {
    # $1 run dir, $2 message
    local run=$1
    log "$2"
    if [[ -f $run/broker.log ]]; then
        # The cause is usually far above the tail (a failed startup is
        # followed by a long shutdown), so show this launch's first errors
        # as well.
        log "first errors of this launch in $run/broker.log:"
        awk '/^==== broker.sh /{n = 0; delete e} / (ERROR|FATAL) |Exception/ && n < 12 {e[++n] = $0}
             END {for (i = 1; i <= n; i++) print e[i]}' "$run/broker.log" | cut -c1-400 >&2
        log "last lines of $run/broker.log:"
        tail -n 30 "$run/broker.log" >&2
    fi
    [[ -n ${LAUNCHED_PID:-} ]] && kill_pid "$LAUNCHED_PID" "$run" 5
    log "run dir kept for inspection: $run"
    exit 1
}

wait_ready() {
    # $1 run dir, $2 port, $3 client config file (secured broker) or "".
    # The client listener accepts requests only once the broker has
    # registered with the controller and been unfenced, so a successful
    # metadata request that lists broker 1 means "usable"; on a secured
    # broker it also proves the certificate and the client's credentials.
    local run=$1 port=$2 deadline out kopts=()
    [[ -n ${3:-} ]] && kopts=(-F "$3")
    deadline=$((SECONDS + START_TIMEOUT))
    while ((SECONDS < deadline)); do
        if ! is_our_broker "$LAUNCHED_PID" "$run"; then
            fail_start "$run" "broker exited during startup"
        fi
        # A plain TCP connect first: it fails at once while the port is
        # closed, whereas kcat would spend its whole metadata timeout
        # retrying the connection.
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null &&
            out=$(timeout 10 "$KCAT" "${kopts[@]+"${kopts[@]}"}" -b "127.0.0.1:$port" \
                -L -m 5 2>/dev/null) &&
            [[ $out == *"broker 1 at 127.0.0.1:$port"* ]]; then
            return 0
        fi
        sleep 0.2
    done
    fail_start "$run" "broker not ready on 127.0.0.1:$port after ${START_TIMEOUT}s"
}

kill_pid() {
    # $1 pid, $2 run dir, $3 seconds to wait after SIGTERM (0 = SIGKILL now)
    local pid=$1 run=$2 grace=$3 deadline
    is_our_broker "$pid" "$run" || return 0
    if ((grace > 0)); then
        kill -TERM "$pid" 2>/dev/null || true
        # A controlled shutdown of a single node takes ~2 s.
        deadline=$((SECONDS + grace))
        while ((SECONDS < deadline)) && is_our_broker "$pid" "$run"; do
            sleep 0.1
        done
        is_our_broker "$pid" "$run" || return 0
        log "broker pid $pid ignored SIGTERM for ${grace}s; sending SIGKILL"
    fi
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while ((SECONDS < deadline)) && is_our_broker "$pid" "$run"; do
        sleep 0.1
    done
    ! is_our_broker "$pid" "$run" || die "broker pid $pid survived SIGKILL"
}

prepare_run_dir() {
    # Sets RUN to a fresh, empty run directory carrying the marker.
    if [[ -n $OPT_DIR ]]; then
        RUN=$OPT_DIR
        if [[ -e $RUN/$MARKER ]]; then
            # Ours from an earlier run: wipe it (fresh data dir every start),
            # keeping only the lock file we are holding.
            find "$RUN" -mindepth 1 -maxdepth 1 ! -name state.lock -exec rm -rf {} +
        elif [[ -n $(find "$RUN" -mindepth 1 -maxdepth 1 ! -name state.lock ! -name state -print -quit) ]]; then
            die "--dir $RUN is not empty and was not made by broker.sh; refusing to use it"
        fi
    else
        local root
        root=$(dirname "$STATE")
        mkdir -p "$root"
        RUN=$(mktemp -d "$root/run.XXXXXX")
    fi
    mkdir -p "$RUN/data" "$RUN/tmp"
    : >"$RUN/$MARKER"
    cp "$HERE/log4j2.properties" "$HERE/log4j.properties" "$RUN/"
}

remove_run_dir() {
    local run=$1
    [[ -n $run && -e $run/$MARKER ]] || return 0
    if [[ -n $OPT_DIR && $run == "$OPT_DIR" ]]; then
        # The caller owns --dir itself; empty it but leave it (and the lock).
        find "$run" -mindepth 1 -maxdepth 1 ! -name state.lock -exec rm -rf {} +
    else
        rm -rf "$run"
    fi
}

# ----------------------------------------------------------- commands -----

check_java() {
    # Kafka 4.x brokers need Java 17+ (3.x runs on 11+); a too-old JVM fails
    # with an unhelpful UnsupportedClassVersionError deep in the log.
    local v major
    v=$("$JAVA" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')
    major=${v%%.*}
    [[ $major == 1 ]] && major=$(cut -d. -f2 <<<"$v")
    [[ $major =~ ^[0-9]+$ ]] || die "cannot tell the Java version from '$JAVA -version'"
    ((major >= 17)) || die "Java $v is too old; Kafka $KAFKA_VERSION needs Java 17 or newer"
}

cmd_start() {
    ((${#ARGS[@]} == 0)) || die "start takes no arguments"
    need "$JAVA" "install OpenJDK 17 or newer"
    need "$KCAT" "apt-get install kcat"
    need setsid "install util-linux"
    need flock "install util-linux"
    check_java
    if [[ $OPT_SECURITY == sasl_ssl ]]; then
        need openssl "apt-get install openssl"
        check_scram_versions
    fi
    if [[ -n $OPT_CPUS ]]; then
        need taskset "install util-linux"
        taskset -c "$OPT_CPUS" true 2>/dev/null ||
            die "--cpus $OPT_CPUS: not a usable CPU list here (this machine has CPUs 0-$(($(nproc --all) - 1)))"
    fi
    cmd_fetch
    [[ -z $OPT_DIR ]] || mkdir -p "$OPT_DIR"
    lock_state
    if running; then
        die "a broker is already running at ${ST[bootstrap]} (pid ${ST[pid]}, $STATE); stop it first"
    fi
    prepare_run_dir
    pick_ports
    local port=${PORTS[0]} cport=${PORTS[1]} client=
    SECURITY=${OPT_SECURITY:-plaintext}
    if [[ $SECURITY == sasl_ssl ]]; then
        prepare_security "$RUN"
        client=$RUN/client.properties
    fi
    write_server_properties "$RUN" "$port" "$cport"
    format_storage "$RUN"
    printf '==== broker.sh start %s (Kafka %s, port %s, controller %s%s)\n' \
        "$(date -u +%FT%TZ)" "$KAFKA_VERSION" "$port" "$cport" \
        "$([[ $SECURITY == plaintext ]] || echo ", $SECURITY")" >>"$RUN/broker.log"
    LAUNCHED_PID=
    launch "$RUN" "$LIBS" "$OPT_CPUS"
    wait_ready "$RUN" "$port" "$client"
    ST=([port]=$port [controller_port]=$cport [run_dir]=$RUN [libs]=$LIBS [version]=$KAFKA_VERSION
        [security]=$SECURITY [client_config]=$client [cpus]=$OPT_CPUS)
    write_state "$LAUNCHED_PID"
    if [[ $SECURITY == plaintext ]]; then
        log "Kafka $KAFKA_VERSION ready at 127.0.0.1:$port (pid $LAUNCHED_PID, run dir $RUN)"
    else
        log "Kafka $KAFKA_VERSION ready at 127.0.0.1:$port, $SECURITY $SCRAM_MECHANISM as user $CLIENT_USER (pid $LAUNCHED_PID, run dir $RUN, client settings in $client)"
    fi
    echo "127.0.0.1:$port"
}

cmd_restart() {
    # Same ports, same data dir, same cluster: clients that were connected
    # reconnect to the same address and see the same logs and offsets.
    ((${#ARGS[@]} == 0)) || die "restart takes no arguments"
    [[ -e $STATE ]] || die "no broker state at $STATE (start one first)"
    lock_state
    read_state || die "no broker state at $STATE (start one first)"
    local run=${ST[run_dir]}
    [[ -f $run/server.properties ]] || die "run dir $run is gone; cannot restart (start a new broker)"
    [[ -f ${ST[libs]}/.fstore-complete ]] || die "broker jars ${ST[libs]} are gone; run fetch (FSTORE_KAFKA_VERSION=${ST[version]})"
    if is_our_broker "${ST[pid]:-}" "$run"; then
        if ((OPT_KILL)); then
            log "killing broker pid ${ST[pid]} (SIGKILL, simulated crash)"
            kill_pid "${ST[pid]}" "$run" 0
        else
            kill_pid "${ST[pid]}" "$run" "$STOP_TIMEOUT"
        fi
    fi
    # Record the stopped state first: if the start below fails, status must
    # not report the old pid.
    write_state ""
    printf '==== broker.sh restart %s\n' "$(date -u +%FT%TZ)" >>"$run/broker.log"
    LAUNCHED_PID=
    launch "$run" "${ST[libs]}" "${ST[cpus]:-}"
    wait_ready "$run" "${ST[port]}" "${ST[client_config]:-}"
    write_state "$LAUNCHED_PID"
    log "broker restarted at 127.0.0.1:${ST[port]} (pid $LAUNCHED_PID)"
    echo "127.0.0.1:${ST[port]}"
}

cmd_stop() {
    ((${#ARGS[@]} == 0)) || die "stop takes no arguments"
    # Checked before locking so that stopping a never-started --dir does not
    # create it.
    [[ -e $STATE ]] && lock_state
    if ! read_state; then
        # Idempotent: stopping nothing is fine (handy in EXIT traps).
        log "no broker state at $STATE; nothing to stop"
        return 0
    fi
    local run=${ST[run_dir]}
    if ((OPT_KILL)); then
        kill_pid "${ST[pid]:-}" "$run" 0
    else
        kill_pid "${ST[pid]:-}" "$run" "$STOP_TIMEOUT"
    fi
    if ((OPT_KEEP)); then
        # Keep state and run dir so `restart` can bring the same broker
        # (ports, data) back later, and the log can be read.
        write_state ""
        log "broker stopped; run dir kept: $run"
    else
        remove_run_dir "$run"
        rm -f "$STATE"
        log "broker stopped"
    fi
}

cmd_status() {
    if running; then
        echo "running ${ST[bootstrap]} pid ${ST[pid]} version ${ST[version]} dir ${ST[run_dir]}"
        return 0
    elif [[ -n ${ST[run_dir]:-} ]]; then
        echo "stopped ${ST[bootstrap]} dir ${ST[run_dir]} (restart brings it back)"
    else
        echo "not running"
    fi
    return 1
}

cmd_bootstrap() {
    running || die "no running broker for $STATE"
    echo "${ST[bootstrap]}"
}

cmd_log() {
    read_state || die "no broker state at $STATE"
    echo "${ST[run_dir]}/broker.log"
}

cmd_client_config() {
    read_state || die "no broker state at $STATE"
    [[ -n ${ST[client_config]:-} ]] ||
        die "the broker of $STATE is not secured (start --security sasl_ssl); clients need only its address"
    echo "${ST[client_config]}"
}

run_tool() {
    # $@: tool command and args, run against the broker in $STATE.
    running || die "no running broker for $STATE"
    local bin
    bin=$(tool_path)
    # A secured broker: the tool reads the client settings from this file.
    FSTORE_KAFKA_CLIENT_CONFIG=${ST[client_config]:-} "$bin" "${ST[bootstrap]}" "$@"
}

# --------------------------------------------------------------- main -----

(($#)) || usage
CMD=$1
shift
parse_opts "$@"
case $CMD in
deps) cmd_deps ;;
fetch) cmd_fetch; log "Kafka $KAFKA_VERSION jars in $LIBS" ;;
start) cmd_start ;;
restart) cmd_restart ;;
stop) cmd_stop ;;
status) cmd_status ;;
bootstrap) cmd_bootstrap ;;
log) cmd_log ;;
client-config) cmd_client_config ;;
create-topic)
    ((${#ARGS[@]} >= 2)) || die "usage: create-topic [--fast-compaction] NAME PARTITIONS [key=value ...]"
    CONFIGS=("${ARGS[@]:2}")
    if ((OPT_FAST)); then
        # The preset first, then the explicit key=value arguments; a key
        # given explicitly replaces the preset's value (the broker rejects a
        # CreateTopics request that names one config twice).
        CONFIGS=()
        for kv in "${FAST_COMPACTION[@]}"; do
            keep=1
            for ov in "${ARGS[@]:2}"; do
                [[ ${ov%%=*} == "${kv%%=*}" ]] && keep=0
            done
            ((keep)) && CONFIGS+=("$kv")
        done
        CONFIGS+=("${ARGS[@]:2}")
    fi
    run_tool create-topic "${ARGS[0]}" "${ARGS[1]}" "${CONFIGS[@]+"${CONFIGS[@]}"}"
    ;;
add-partitions)
    ((${#ARGS[@]} == 2)) || die "usage: add-partitions NAME TOTAL"
    run_tool add-partitions "${ARGS[@]}"
    ;;
delete-topic | describe-topic)
    ((${#ARGS[@]} == 1)) || die "usage: $CMD NAME"
    run_tool "$CMD" "${ARGS[@]}"
    ;;
tool)
    ((${#ARGS[@]} >= 1)) || die "usage: tool COMMAND ARGS..."
    run_tool "${ARGS[@]}"
    ;;
tool-path) tool_path ;;
-h | --help | help) usage ;;
*) die "unknown command '$CMD' (try --help)" ;;
esac
