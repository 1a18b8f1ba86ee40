/* Helpers of the real-broker integration tests; see itest.h. */
#define _GNU_SOURCE
#include "itest.h"

#include <errno.h>
#include <fcntl.h>
#include <librdkafka/rdkafka.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "support/avro_enc.h"
#include "support/files.h"
#include "support/kafka_admin.h"

/* Every blocking broker call is bounded: a broken broker fails a test, it
 * never hangs it. */
#define IT_OP_TIMEOUT_MS 30000

static const char *g_name = "?";
static char *g_brokers;
static char g_dir[4096];
static int64_t g_t0_us;

#define IT_MAX_CHILDREN 64
static pid_t g_children[IT_MAX_CHILDREN];

/* ---- failing --------------------------------------------------------- */

static void it_kill_children(void)
{
    for (int i = 0; i < IT_MAX_CHILDREN; i++)
        if (g_children[i] > 0) {
            kill(g_children[i], SIGKILL);
            waitpid(g_children[i], NULL, 0);
            g_children[i] = 0;
        }
}

void it_fail_at(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    fprintf(stderr, "FAIL %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    it_kill_children();
    if (g_dir[0])
        fprintf(stderr, "FAIL %s: scratch directory kept: %s\n", g_name, g_dir);
    fprintf(stderr, "FAIL %s after %.1f s\n", g_name,
            (double)(it_now_us() - g_t0_us) / 1e6);
    fflush(stderr);
    /* _exit: librdkafka threads may be mid-call; atexit handlers and
     * destructors of other threads' state must not run. */
    _exit(1);
}

/* ---- set-up ------------------------------------------------------------ */

int64_t it_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t it_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void it_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) && errno == EINTR)
        ;
}

void it_log(const char *fmt, ...)
{
    va_list ap;
    printf("[%6.1fs] ", (double)(it_now_us() - g_t0_us) / 1e6);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

long it_env_long(const char *name, long def)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || *end || n < 0)
        IT_FAIL("%s='%s' is not a non-negative integer", name, v);
    return n;
}

const char *it_brokers(void)
{
    return g_brokers;
}
const char *it_dir(void)
{
    return g_dir;
}

static void it_rk_log(const rd_kafka_t *rk, int level, const char *fac,
                      const char *buf)
{
    (void)rk;
    if (level <= 3)
        fprintf(stderr, "librdkafka %s: %s\n", fac, buf);
}

static void it_conf(rd_kafka_conf_t *c, const char *k, const char *v)
{
    char errstr[512];
    if (rd_kafka_conf_set(c, k, v, errstr, sizeof errstr) != RD_KAFKA_CONF_OK)
        IT_FAIL("librdkafka property %s=%s: %s", k, v, errstr);
}

static rd_kafka_conf_t *it_base_conf(void)
{
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    it_conf(c, "bootstrap.servers", g_brokers);
    it_conf(c, "client.id", "fstore-it");
    rd_kafka_conf_set_log_cb(c, it_rk_log);
    return c;
}

static rd_kafka_t *it_client(rd_kafka_type_t type, rd_kafka_conf_t *c)
{
    char errstr[512];
    rd_kafka_t *rk = rd_kafka_new(type, c, errstr, sizeof errstr);
    if (!rk)
        IT_FAIL("rd_kafka_new: %s", errstr);
    return rk;
}

/* ctest's timeout or a Ctrl-C: take the children along. */
static void it_on_signal(int sig)
{
    for (int i = 0; i < IT_MAX_CHILDREN; i++)
        if (g_children[i] > 0)
            kill(g_children[i], SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

void it_init(const char *test_name)
{
    g_name = test_name;
    signal(SIGTERM, it_on_signal);
    signal(SIGINT, it_on_signal);
    g_t0_us = it_now_us();
    setvbuf(stdout, NULL, _IOLBF, 0);
    const char *b = getenv("FSTORE_TEST_BROKERS");
    if (!b || !*b)
        IT_FAIL("FSTORE_TEST_BROKERS is not set: start a broker with "
                "`BROKERS=$(tests/kafka/broker.sh start)` and export "
                "FSTORE_TEST_BROKERS=$BROKERS (scripts/test.sh does this in "
                "its kafka stage)");
    g_brokers = strdup(b);
    /* A metadata request answered within 10 s, or the test fails. */
    rd_kafka_conf_t *c = it_base_conf();
    it_conf(c, "socket.connection.setup.timeout.ms", "5000");
    rd_kafka_t *rk = it_client(RD_KAFKA_PRODUCER, c);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, NULL, &md, 10000);
    if (e)
        IT_FAIL("the broker at FSTORE_TEST_BROKERS=%s does not answer: %s "
                "(is it running? tests/kafka/broker.sh status)",
                g_brokers, rd_kafka_err2str(e));
    int nb = md->broker_cnt;
    rd_kafka_metadata_destroy(md);
    rd_kafka_destroy(rk);
    if (nb < 1)
        IT_FAIL("the broker at %s lists no brokers", g_brokers);
    const char *tmp = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/fstore-it-%s-XXXXXX",
             tmp && *tmp ? tmp : "/tmp", test_name);
    if (!mkdtemp(g_dir)) {
        g_dir[0] = 0;
        IT_FAIL("mkdtemp: %s", strerror(errno));
    }
    it_log("%s: broker %s, librdkafka %s, fstore %s, scratch %s", test_name,
           g_brokers, rd_kafka_version_str(), fstore_version_str(), g_dir);
}

int it_pass(void)
{
    it_kill_children();
    if (g_dir[0] && !getenv("FSTORE_IT_KEEP"))
        sup_rm_tree(g_dir);
    printf("PASS %s (%.1f s)\n", g_name, (double)(it_now_us() - g_t0_us) / 1e6);
    fflush(stdout);
    return 0;
}

char *it_topic_name(const char *what)
{
    static int counter;
    char buf[256];
    snprintf(buf, sizeof buf, "fstore-it-%s-%d-%d-%lx", what, (int)getpid(),
             ++counter, (unsigned long)time(NULL));
    return strdup(buf);
}

uint64_t it_seed(void)
{
    uint64_t s = (uint64_t)it_env_long("FSTORE_IT_SEED", 0);
    if (!s)
        s = (uint64_t)it_now_us() ^ ((uint64_t)getpid() << 32);
    it_log("seed %llu (FSTORE_IT_SEED=%llu replays it)", (unsigned long long)s,
           (unsigned long long)s);
    return s ? s : 1;
}

uint64_t it_rand(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* ---- children ------------------------------------------------------------ */

pid_t it_spawn(char *const argv[], const char *log_path)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        IT_FAIL("fork: %s", strerror(errno));
    if (pid == 0) {
        /* Dies with the test, even when the test is SIGKILLed (ctest's
         * timeout): no tailer is left writing a store in the background. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    for (int i = 0; i < IT_MAX_CHILDREN; i++)
        if (g_children[i] == 0) {
            g_children[i] = pid;
            break;
        }
    return pid;
}

void it_forget_child(pid_t pid)
{
    for (int i = 0; i < IT_MAX_CHILDREN; i++)
        if (g_children[i] == pid)
            g_children[i] = 0;
}

int it_wait(pid_t pid, int timeout_ms)
{
    int64_t deadline = it_now_us() + (int64_t)timeout_ms * 1000;
    for (;;) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid) {
            it_forget_child(pid);
            return st;
        }
        if (r < 0)
            IT_FAIL("waitpid %d: %s", (int)pid, strerror(errno));
        if (it_now_us() > deadline)
            return -1;
        it_sleep_ms(20);
    }
}

void it_tail_file(const char *path, int lines)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char **ring = calloc((size_t)lines, sizeof *ring);
    char *line = NULL;
    size_t cap = 0;
    long n = 0;
    while (ring && getline(&line, &cap, f) > 0) {
        free(ring[n % lines]);
        ring[n % lines] = strdup(line);
        n++;
    }
    fprintf(stderr, "---- last lines of %s\n", path);
    for (long i = n > lines ? n - lines : 0; ring && i < n; i++)
        fputs(ring[i % lines], stderr);
    fprintf(stderr, "----\n");
    for (int i = 0; ring && i < lines; i++)
        free(ring[i]);
    free(ring);
    free(line);
    fclose(f);
}

void it_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f))
        IT_FAIL("writing %s: %s", path, strerror(errno));
}

/* ---- topics ----------------------------------------------------------------
 */

const char *const it_compact_configs[] = {
    "cleanup.policy=compact",
    "segment.ms=100",
    "min.cleanable.dirty.ratio=0.01",
    "delete.retention.ms=100",
    "max.compaction.lag.ms=100",
    "min.compaction.lag.ms=0",
    /* The broker's floor: segments roll by size too with 100k records. */
    "segment.bytes=1048576",
    NULL,
};

void it_create_topic(const char *name, int partitions,
                     const char *const *configs)
{
    rd_kafka_t *rk = it_client(RD_KAFKA_PRODUCER, it_base_conf());
    sup_topic t = {name, partitions, 1, configs};
    char why[512];
    if (sup_create_topics(rk, &t, 1, 0, IT_OP_TIMEOUT_MS, why, sizeof why) < 0)
        IT_FAIL("create topic %s: %s", name, why);
    rd_kafka_destroy(rk);
}

void it_add_partitions(const char *name, int total)
{
    rd_kafka_t *rk = it_client(RD_KAFKA_PRODUCER, it_base_conf());
    char why[512];
    if (sup_add_partitions(rk, name, total, IT_OP_TIMEOUT_MS, why, sizeof why))
        IT_FAIL("add partitions to %s: %s", name, why);
    rd_kafka_destroy(rk);
}

void it_delete_records(const char *topic, const int32_t *parts,
                       const int64_t *before, int n)
{
    rd_kafka_t *rk = it_client(RD_KAFKA_PRODUCER, it_base_conf());
    char why[512];
    rd_kafka_AdminOptions_t *o = sup_admin_options(
        rk, RD_KAFKA_ADMIN_OP_DELETERECORDS, IT_OP_TIMEOUT_MS, why, sizeof why);
    if (!o)
        IT_FAIL("DeleteRecords on %s: %s", topic, why);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
    for (int i = 0; i < n; i++)
        rd_kafka_topic_partition_list_add(l, topic, parts[i])->offset =
            before[i];
    rd_kafka_DeleteRecords_t *d = rd_kafka_DeleteRecords_new(l);
    rd_kafka_topic_partition_list_destroy(l);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_DeleteRecords(rk, &d, 1, o, q);
    rd_kafka_DeleteRecords_destroy(d);
    rd_kafka_AdminOptions_destroy(o);
    rd_kafka_event_t *ev =
        sup_admin_wait(q, RD_KAFKA_EVENT_DELETERECORDS_RESULT,
                       IT_OP_TIMEOUT_MS + 5000, why, sizeof why);
    if (!ev)
        IT_FAIL("DeleteRecords on %s: %s", topic, why);
    const rd_kafka_topic_partition_list_t *res =
        rd_kafka_DeleteRecords_result_offsets(
            rd_kafka_event_DeleteRecords_result(ev));
    IT_CHECK(res && res->cnt == n,
             "DeleteRecords on %s: %d results for %d partitions", topic,
             res ? res->cnt : -1, n);
    for (int i = 0; i < res->cnt; i++) {
        const rd_kafka_topic_partition_t *r = &res->elems[i];
        if (r->err)
            IT_FAIL("DeleteRecords on %s [%d]: %s", topic, r->partition,
                    rd_kafka_err2str(r->err));
        int64_t want = -1;
        for (int k = 0; k < n; k++)
            if (parts[k] == r->partition)
                want = before[k];
        if (r->offset != want)
            IT_FAIL("DeleteRecords on %s [%d]: log start now %lld, asked "
                    "for %lld",
                    topic, r->partition, (long long)r->offset, (long long)want);
    }
    rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_destroy(rk);
}

static rd_kafka_t *g_wm_rk;

void it_watermarks(const char *topic, int32_t partition, int64_t *lo,
                   int64_t *hi)
{
    if (!g_wm_rk)
        g_wm_rk = it_client(RD_KAFKA_PRODUCER, it_base_conf());
    rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
        g_wm_rk, topic, partition, lo, hi, IT_OP_TIMEOUT_MS);
    if (e)
        IT_FAIL("watermarks of %s [%d]: %s", topic, partition,
                rd_kafka_err2str(e));
}

/* ---- records --------------------------------------------------------------
 */

#define IT_FIELDS_HEAD                                                         \
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fstore.it\","  \
    "\"fields\":["
#define IT_CAT                                                                 \
    "{\"name\":\"cat\",\"type\":{\"type\":\"enum\",\"name\":\"Cat\","          \
    "\"symbols\":[\"A\",\"B\",\"C\"]}},"
#define IT_EMB                                                                 \
    "{\"name\":\"emb\",\"type\":{\"type\":\"array\",\"items\":\"float\"}}"

const char IT_SCHEMA[] = IT_FIELDS_HEAD
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"version\",\"type\":\"long\"},"
    "{\"name\":\"cnt\",\"type\":\"long\"},"
    "{\"name\":\"score\",\"type\":\"double\"},"
    "{\"name\":\"ratio\",\"type\":\"float\"},"
    "{\"name\":\"flag\",\"type\":\"boolean\"},"
    "{\"name\":\"name\",\"type\":\"string\"}," IT_CAT
    "{\"name\":\"opt\",\"type\":[\"null\",\"long\"],\"default\":null}," IT_EMB
    "]}";

const char IT_SCHEMA_V2[] = IT_FIELDS_HEAD
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"version\",\"type\":\"long\"},"
    "{\"name\":\"extra\",\"type\":\"string\"},"
    "{\"name\":\"cnt\",\"type\":\"int\"},"
    "{\"name\":\"score\",\"type\":\"double\"},"
    "{\"name\":\"ratio\",\"type\":\"float\"},"
    "{\"name\":\"flag\",\"type\":\"boolean\"},"
    "{\"name\":\"name\",\"type\":\"string\"}," IT_CAT IT_EMB "]}";

const char IT_SCHEMA_BAD[] = IT_FIELDS_HEAD
    "{\"name\":\"id\",\"type\":\"long\"},"
    "{\"name\":\"version\",\"type\":\"string\"},"
    "{\"name\":\"cnt\",\"type\":\"long\"},"
    "{\"name\":\"score\",\"type\":\"double\"},"
    "{\"name\":\"ratio\",\"type\":\"float\"},"
    "{\"name\":\"flag\",\"type\":\"boolean\"},"
    "{\"name\":\"name\",\"type\":\"string\"}," IT_CAT
    "{\"name\":\"opt\",\"type\":[\"null\",\"long\"],\"default\":null}," IT_EMB
    "]}";

size_t it_key(char *buf, int64_t id)
{
    return (size_t)snprintf(buf, IT_KEY_MAX, "key-%08lld", (long long)id);
}

/* The column values of (id, version): the single definition both the
 * encoder and the checker use. */
typedef struct it_vals {
    int64_t cnt, opt;
    double score;
    float ratio;
    int flag, cat, opt_null, nemb;
    char name[48];
    float emb[4];
} it_vals;

static void it_values(int64_t id, int64_t v, int32_t schema_id, it_vals *o)
{
    o->cnt = (v * 7 + id) % 100000;
    o->score = (double)id * 0.25 + (double)v;
    o->ratio = (float)(v % 1000) / 8.0f;
    o->flag = (int)((id + v) & 1);
    snprintf(o->name, sizeof o->name, "n%lld-v%lld", (long long)id,
             (long long)v);
    o->cat = (int)((id + v) % 3);
    o->opt_null = schema_id == IT_ID_V2 || v % 3 == 0;
    o->opt = id * 1000 + v;
    o->nemb = 1 + (int)((id + v) % 4);
    for (int k = 0; k < o->nemb; k++)
        o->emb[k] = (float)(id % 1000) + 0.5f * (float)k + (float)(v % 100);
}

size_t it_encode(uint8_t *buf, int32_t schema_id, int64_t id, int64_t version)
{
    it_vals v;
    it_values(id, version, schema_id, &v);
    size_t i = 0;
    buf[i++] = 0; /* magic */
    buf[i++] = (uint8_t)(schema_id >> 24);
    buf[i++] = (uint8_t)(schema_id >> 16);
    buf[i++] = (uint8_t)(schema_id >> 8);
    buf[i++] = (uint8_t)schema_id;
    i += sup_put_long(buf + i, id);
    if (schema_id == IT_ID_BAD) {
        char s[32];
        snprintf(s, sizeof s, "%lld", (long long)version);
        i += sup_put_bytes(buf + i, s, strlen(s));
    } else {
        i += sup_put_long(buf + i, version);
    }
    if (schema_id == IT_ID_V2) {
        char s[32];
        snprintf(s, sizeof s, "x%lld", (long long)id);
        i += sup_put_bytes(buf + i, s, strlen(s));
    }
    i += sup_put_long(buf + i, v.cnt); /* int and long encode alike */
    i += sup_put_double(buf + i, v.score);
    i += sup_put_float(buf + i, v.ratio);
    buf[i++] = (uint8_t)v.flag;
    i += sup_put_bytes(buf + i, v.name, strlen(v.name));
    i += sup_put_long(buf + i, v.cat);
    if (schema_id != IT_ID_V2) {
        if (v.opt_null) {
            i += sup_put_long(buf + i, 0);
        } else {
            i += sup_put_long(buf + i, 1);
            i += sup_put_long(buf + i, v.opt);
        }
    }
    i += sup_put_long(buf + i, v.nemb);
    for (int k = 0; k < v.nemb; k++)
        i += sup_put_float(buf + i, v.emb[k]);
    i += sup_put_long(buf + i, 0);
    return i;
}

static int it_col(const fstore_table_t *t, const char *name)
{
    int c = fstore_table_column_index(t, name);
    if (c < 0)
        IT_FAIL("table %s has no column %s", fstore_table_name(t), name);
    return c;
}

const char *it_row_check(const fstore_table_t *t, const fstore_row_t *row,
                         int64_t id, int64_t version, int32_t schema_id)
{
    static __thread char why[256];
    it_vals v;
    it_values(id, version, schema_id, &v);
    int64_t l;
    double d;
    float f, emb[8];
    int b;
    int32_t e;
    const char *s;
    size_t sl, n;
    if (fstore_row_verify(row) != FSTORE_OK)
        return "row checksum mismatch";
    if (fstore_row_long(t, row, it_col(t, "id"), &l) || l != id) {
        snprintf(why, sizeof why, "id %lld, want %lld", (long long)l,
                 (long long)id);
        return why;
    }
    if (fstore_row_long(t, row, it_col(t, "version"), &l) || l != version) {
        snprintf(why, sizeof why, "version %lld, want %lld", (long long)l,
                 (long long)version);
        return why;
    }
    if (fstore_row_schema_id(row) != schema_id) {
        snprintf(why, sizeof why, "writer schema %d, want %d",
                 fstore_row_schema_id(row), schema_id);
        return why;
    }
    if (fstore_row_long(t, row, it_col(t, "cnt"), &l) || l != v.cnt)
        return "cnt differs";
    if (fstore_row_double(t, row, it_col(t, "score"), &d) || d != v.score)
        return "score differs";
    if (fstore_row_float(t, row, it_col(t, "ratio"), &f) || f != v.ratio)
        return "ratio differs";
    if (fstore_row_bool(t, row, it_col(t, "flag"), &b) || b != v.flag)
        return "flag differs";
    if (fstore_row_bytes(t, row, it_col(t, "name"), &s, &sl) ||
        sl != strlen(v.name) || memcmp(s, v.name, sl) || s[sl] != 0)
        return "name differs";
    if (fstore_row_int(t, row, it_col(t, "cat"), &e) || e != v.cat)
        return "cat differs";
    fstore_err_t oe = fstore_row_long(t, row, it_col(t, "opt"), &l);
    if (v.opt_null ? oe != FSTORE_NULL : (oe != FSTORE_OK || l != v.opt)) {
        snprintf(why, sizeof why, "opt: %s %lld, want %s %lld",
                 fstore_err_name(oe), (long long)l, v.opt_null ? "null" : "",
                 (long long)v.opt);
        return why;
    }
    if (fstore_row_array_float(t, row, it_col(t, "emb"), emb, 8, &n) ||
        n != (size_t)v.nemb || memcmp(emb, v.emb, 4 * n))
        return "emb differs";
    return NULL;
}

static const char *const it_schema_text[] = {NULL, IT_SCHEMA, IT_SCHEMA_V2,
                                             IT_SCHEMA_BAD};

static fstore_log_cb *g_log_cb;
static void *g_log_opaque;

void it_set_store_log_cb(fstore_log_cb *cb, void *opaque)
{
    g_log_cb = cb;
    g_log_opaque = opaque;
}

fstore_store_t *it_store_open(const char *dir, const char *table_name,
                              const char *const *props,
                              const fstore_table_t **tablep)
{
    char errstr[1024];
    fstore_conf_t *conf = fstore_conf_new();
    IT_CHECK(conf != NULL, "fstore_conf_new");
    if (fstore_conf_set(conf, "kafka.bootstrap.servers", g_brokers, errstr,
                        sizeof errstr))
        IT_FAIL("conf: %s", errstr);
    int have_dir = 0;
    for (int i = 0; props && props[i]; i++) {
        char kv[1024];
        snprintf(kv, sizeof kv, "%s", props[i]);
        char *eq = strchr(kv, '=');
        IT_CHECK(eq != NULL, "property %s", props[i]);
        *eq = 0;
        if (fstore_conf_set(conf, kv, eq + 1, errstr, sizeof errstr))
            IT_FAIL("conf %s: %s", props[i], errstr);
        if (!strcmp(kv, "schemas.dir"))
            have_dir = 1;
    }
    /* FSTORE_IT_PROPS="name=value,...": extra properties for every store
     * the tests open (to try tail.batch.max_ms, store.sync, ...). */
    const char *extra = getenv("FSTORE_IT_PROPS");
    if (extra && *extra) {
        char *copy = strdup(extra), *save = NULL;
        for (char *kv = strtok_r(copy, ",", &save); kv;
             kv = strtok_r(NULL, ",", &save)) {
            char *eq = strchr(kv, '=');
            IT_CHECK(eq != NULL, "FSTORE_IT_PROPS entry '%s'", kv);
            *eq = 0;
            if (fstore_conf_set(conf, kv, eq + 1, errstr, sizeof errstr))
                IT_FAIL("FSTORE_IT_PROPS %s: %s", kv, errstr);
        }
        free(copy);
    }
    if (g_log_cb)
        fstore_conf_set_log_cb(conf, g_log_cb, g_log_opaque);
    fstore_store_t *s = NULL;
    fstore_err_t err = fstore_store_open(dir, conf, &s, errstr, sizeof errstr);
    fstore_conf_destroy(conf);
    if (err)
        IT_FAIL("fstore_store_open %s: %s: %s", dir, fstore_err_name(err),
                errstr);
    err = fstore_table_create(s, table_name, IT_SCHEMA, FSTORE_FORMAT_CONFLUENT,
                              -1, tablep, errstr, sizeof errstr);
    if (err)
        IT_FAIL("fstore_table_create %s: %s: %s", table_name,
                fstore_err_name(err), errstr);
    for (int32_t id = 1; !have_dir && id <= 3; id++) {
        err = fstore_schema_register(s, id, it_schema_text[id], errstr,
                                     sizeof errstr);
        if (err)
            IT_FAIL("fstore_schema_register %d: %s: %s", id,
                    fstore_err_name(err), errstr);
    }
    return s;
}

void it_write_schemas_dir(const char *dir)
{
    if (mkdir(dir, 0755) && errno != EEXIST)
        IT_FAIL("mkdir %s: %s", dir, strerror(errno));
    for (int id = 1; id <= 3; id++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%d.avsc", dir, id);
        it_write_file(path, it_schema_text[id]);
    }
}

/* ---- producing --------------------------------------------------------------
 */

void it_reclog_init(it_reclog *log)
{
    memset(log, 0, sizeof *log);
    pthread_mutex_init(&log->mu, NULL);
}

void it_reclog_free(it_reclog *log)
{
    free(log->recs);
    pthread_mutex_destroy(&log->mu);
}

static void it_reclog_add(it_reclog *log, const it_rec *r)
{
    pthread_mutex_lock(&log->mu);
    if (log->n == log->cap) {
        log->cap = log->cap ? log->cap * 2 : 4096;
        log->recs = realloc(log->recs, log->cap * sizeof *log->recs);
        if (!log->recs)
            IT_FAIL("out of memory");
    }
    log->recs[log->n++] = *r;
    pthread_mutex_unlock(&log->mu);
}

struct it_producer {
    rd_kafka_t *rk;
    char *topic;
    it_reclog *log;
    int32_t nparts;
    int txn;
    size_t txn_first;
    size_t delivered, failed;
    char first_error[256];
};

/* What a queued message is, for its delivery report. */
typedef struct it_msg {
    it_rec rec;
    int32_t want_partition; /* -1: no check */
} it_msg;

static void it_dr(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    it_producer *p = opaque;
    it_msg *msg = m->_private;
    if (m->err) {
        if (!p->failed++)
            snprintf(p->first_error, sizeof p->first_error, "%s",
                     rd_kafka_err2str(m->err));
    } else {
        if (msg->want_partition >= 0 && m->partition != msg->want_partition)
            IT_FAIL("key of record id %lld went to partition %d, but "
                    "fstore_partition_for_key says %d (producer partitioner "
                    "murmur2_random)",
                    (long long)msg->rec.id, m->partition, msg->want_partition);
        msg->rec.partition = m->partition;
        msg->rec.offset = m->offset;
        msg->rec.state = p->txn ? IT_PENDING : IT_COMMITTED;
        it_reclog_add(p->log, &msg->rec);
        /* Read by other threads (it_producer_delivered). */
        __atomic_add_fetch(&p->delivered, 1, __ATOMIC_RELEASE);
    }
    free(msg);
}

static int32_t it_partition_count(rd_kafka_t *rk, const char *topic)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int32_t n = -1;
    rd_kafka_resp_err_t e =
        rd_kafka_metadata(rk, 0, rkt, &md, IT_OP_TIMEOUT_MS);
    if (!e && md->topic_cnt == 1 && !md->topics[0].err)
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    if (n < 1)
        IT_FAIL("no metadata for topic %s: %s", topic,
                e ? rd_kafka_err2str(e) : "topic missing");
    return n;
}

it_producer *it_producer_new(const char *topic, it_reclog *log,
                             const char *txn_id, const char *const *extra)
{
    it_producer *p = calloc(1, sizeof *p);
    IT_CHECK(p != NULL, "calloc");
    p->topic = strdup(topic);
    p->log = log;
    rd_kafka_conf_t *c = it_base_conf();
    /* The Java client's partitioner: keys land where Kafka Streams and
     * fstore_partition_for_key() put them. */
    it_conf(c, "partitioner", "murmur2_random");
    it_conf(c, "enable.idempotence", "true");
    it_conf(c, "linger.ms", "5");
    it_conf(c, "message.timeout.ms", "60000");
    it_conf(c, "queue.buffering.max.messages", "1000000");
    if (txn_id) {
        it_conf(c, "transactional.id", txn_id);
        it_conf(c, "transaction.timeout.ms", "60000");
        p->txn = 1;
    }
    for (int i = 0; extra && extra[i]; i++) {
        char kv[512];
        snprintf(kv, sizeof kv, "%s", extra[i]);
        char *eq = strchr(kv, '=');
        IT_CHECK(eq != NULL, "property %s", extra[i]);
        *eq = 0;
        it_conf(c, kv, eq + 1);
    }
    rd_kafka_conf_set_dr_msg_cb(c, it_dr);
    rd_kafka_conf_set_opaque(c, p);
    p->rk = it_client(RD_KAFKA_PRODUCER, c);
    p->nparts = it_partition_count(p->rk, topic);
    if (txn_id) {
        rd_kafka_error_t *e =
            rd_kafka_init_transactions(p->rk, IT_OP_TIMEOUT_MS);
        if (e)
            IT_FAIL("init_transactions: %s", rd_kafka_error_string(e));
    }
    return p;
}

static void it_produce(it_producer *p, it_msg *msg, const void *key,
                       size_t key_len, const void *value, size_t len,
                       int32_t partition)
{
    int64_t deadline = it_now_us() + IT_OP_TIMEOUT_MS * 1000LL;
    for (;;) {
        rd_kafka_resp_err_t e = rd_kafka_producev(
            p->rk, RD_KAFKA_V_TOPIC(p->topic),
            RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA
                                               : partition),
            RD_KAFKA_V_KEY((void *)(uintptr_t)key, key_len),
            RD_KAFKA_V_VALUE((void *)(uintptr_t)value, len),
            RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE(msg),
            RD_KAFKA_V_END);
        if (!e)
            break;
        if (e != RD_KAFKA_RESP_ERR__QUEUE_FULL || it_now_us() > deadline)
            IT_FAIL("produce to %s: %s", p->topic, rd_kafka_err2str(e));
        it_poll(p, 10);
    }
    it_poll(p, 0);
}

void it_put(it_producer *p, int64_t id, int64_t version, int32_t schema_id)
{
    char key[IT_KEY_MAX];
    uint8_t val[256];
    size_t kl = it_key(key, id), vl = it_encode(val, schema_id, id, version);
    it_msg *m = calloc(1, sizeof *m);
    IT_CHECK(m != NULL, "calloc");
    m->rec.id = id;
    m->rec.version = version;
    m->rec.schema_id = schema_id;
    m->rec.kind = IT_PUT;
    m->want_partition = fstore_partition_for_key(key, kl, p->nparts);
    it_produce(p, m, key, kl, val, vl, -1);
}

void it_del(it_producer *p, int64_t id)
{
    char key[IT_KEY_MAX];
    size_t kl = it_key(key, id);
    it_msg *m = calloc(1, sizeof *m);
    IT_CHECK(m != NULL, "calloc");
    m->rec.id = id;
    m->rec.version = -1;
    m->rec.kind = IT_DEL;
    m->want_partition = fstore_partition_for_key(key, kl, p->nparts);
    it_produce(p, m, key, kl, NULL, 0, -1);
}

void it_put_raw(it_producer *p, int64_t id, const void *key, size_t key_len,
                const void *value, size_t len, int32_t partition)
{
    it_msg *m = calloc(1, sizeof *m);
    IT_CHECK(m != NULL, "calloc");
    m->rec.id = id;
    m->rec.version = -1;
    m->rec.kind = IT_BAD;
    m->want_partition = partition >= 0 ? partition
                        : key
                            ? fstore_partition_for_key(key, key_len, p->nparts)
                            : -1;
    it_produce(p, m, key, key_len, value, len, partition);
}

static void it_check_failed(it_producer *p)
{
    if (p->failed)
        IT_FAIL("%zu deliveries to %s failed, the first with: %s", p->failed,
                p->topic, p->first_error);
    char errstr[512];
    if (rd_kafka_fatal_error(p->rk, errstr, sizeof errstr))
        IT_FAIL("producer fatal error: %s", errstr);
}

void it_poll(it_producer *p, int timeout_ms)
{
    rd_kafka_poll(p->rk, timeout_ms);
    it_check_failed(p);
}

void it_flush(it_producer *p)
{
    rd_kafka_resp_err_t e = rd_kafka_flush(p->rk, 120000);
    it_check_failed(p);
    if (e)
        IT_FAIL("flush to %s: %s (%d still queued)", p->topic,
                rd_kafka_err2str(e), rd_kafka_outq_len(p->rk));
}

size_t it_producer_delivered(it_producer *p)
{
    return __atomic_load_n(&p->delivered, __ATOMIC_ACQUIRE);
}

static void it_txn_ok(rd_kafka_error_t *e, const char *what)
{
    if (e)
        IT_FAIL("%s: %s (%s)", what, rd_kafka_error_string(e),
                rd_kafka_error_name(e));
}

static void it_txn_mark(it_producer *p, uint8_t state)
{
    pthread_mutex_lock(&p->log->mu);
    for (size_t i = p->txn_first; i < p->log->n; i++)
        p->log->recs[i].state = state;
    pthread_mutex_unlock(&p->log->mu);
}

void it_txn_begin(it_producer *p)
{
    pthread_mutex_lock(&p->log->mu);
    p->txn_first = p->log->n;
    pthread_mutex_unlock(&p->log->mu);
    it_txn_ok(rd_kafka_begin_transaction(p->rk), "begin_transaction");
}

void it_txn_commit(it_producer *p)
{
    it_txn_ok(rd_kafka_commit_transaction(p->rk, IT_OP_TIMEOUT_MS),
              "commit_transaction");
    it_check_failed(p);
    it_txn_mark(p, IT_COMMITTED);
}

void it_txn_abort(it_producer *p)
{
    it_flush(p);
    it_txn_ok(rd_kafka_abort_transaction(p->rk, IT_OP_TIMEOUT_MS),
              "abort_transaction");
    it_check_failed(p);
    it_txn_mark(p, IT_ABORTED);
}

void it_producer_free(it_producer *p)
{
    if (!p)
        return;
    rd_kafka_destroy(p->rk);
    free(p->topic);
    free(p);
}

/* ---- expecting ----------------------------------------------------------- */

it_expect *it_expected(it_reclog *log, int64_t nids, const int64_t *limit,
                       int32_t nlimit, int (*want)(int32_t p, void *arg),
                       void *arg)
{
    it_expect *e = calloc((size_t)nids, sizeof *e);
    IT_CHECK(e != NULL, "calloc");
    for (int64_t i = 0; i < nids; i++) {
        e[i].version = -1;
        e[i].offset = -1;
        e[i].partition = -1;
    }
    pthread_mutex_lock(&log->mu);
    for (size_t i = 0; i < log->n; i++) {
        const it_rec *r = &log->recs[i];
        if (r->state != IT_COMMITTED || r->kind == IT_BAD || r->id < 0 ||
            r->id >= nids)
            continue;
        if (want && !want(r->partition, arg))
            continue;
        if (limit &&
            (r->partition >= nlimit || r->offset > limit[r->partition]))
            continue;
        it_expect *x = &e[r->id];
        if (x->partition >= 0 && x->partition != r->partition)
            IT_FAIL("test bug: key id %lld was written to partitions %d and "
                    "%d; its latest value is undefined",
                    (long long)r->id, x->partition, r->partition);
        if (r->offset < x->offset)
            continue;
        x->partition = r->partition;
        x->offset = r->offset;
        x->version = r->kind == IT_PUT ? r->version : -1;
        x->schema_id = r->schema_id;
    }
    pthread_mutex_unlock(&log->mu);
    return e;
}

size_t it_live_count(const it_expect *exp, int64_t nids)
{
    size_t n = 0;
    for (int64_t i = 0; i < nids; i++)
        n += exp[i].version >= 0;
    return n;
}

size_t it_compare(fstore_store_t *store, const fstore_table_t *t,
                  const it_expect *exp, int64_t nids, int32_t nparts)
{
    fstore_reader_t *r;
    IT_CHECK(fstore_reader_new(store, &r) == FSTORE_OK, "reader");
    size_t bad = 0, live = 0;
    for (int64_t id = 0; id < nids; id++) {
        char key[IT_KEY_MAX];
        size_t kl = it_key(key, id);
        const fstore_row_t *row = NULL;
        fstore_err_t err = fstore_get(r, t, key, kl, &row);
        const it_expect *x = &exp[id];
        const char *why = NULL;
        char buf[256];
        if (x->version < 0) {
            if (err == FSTORE_OK) {
                int64_t v = -1;
                fstore_row_long(t, row, it_col(t, "version"), &v);
                snprintf(buf, sizeof buf,
                         "present (version %lld from %d/%lld), want absent "
                         "(%s at %d/%lld)",
                         (long long)v, fstore_row_partition(row),
                         (long long)fstore_row_offset(row),
                         x->partition < 0 ? "never written" : "deleted",
                         x->partition, (long long)x->offset);
                why = buf;
            } else if (err != FSTORE_NOT_FOUND) {
                why = fstore_err_name(err);
            }
        } else {
            live++;
            if (err != FSTORE_OK) {
                snprintf(buf, sizeof buf, "%s, want version %lld from %d/%lld",
                         fstore_err_name(err), (long long)x->version,
                         x->partition, (long long)x->offset);
                why = buf;
            } else if ((why = it_row_check(t, row, id, x->version,
                                           x->schema_id))) {
                snprintf(buf, sizeof buf, "%s (row from %d/%lld, want %d/%lld)",
                         why, fstore_row_partition(row),
                         (long long)fstore_row_offset(row), x->partition,
                         (long long)x->offset);
                why = buf;
            } else if (fstore_row_partition(row) != x->partition ||
                       fstore_row_offset(row) != x->offset) {
                snprintf(buf, sizeof buf, "row from %d/%lld, want %d/%lld",
                         fstore_row_partition(row),
                         (long long)fstore_row_offset(row), x->partition,
                         (long long)x->offset);
                why = buf;
            } else if (nparts > 0 && fstore_partition_for_key(
                                         key, kl, nparts) != x->partition) {
                why = "partition differs from fstore_partition_for_key";
            }
        }
        if (why) {
            if (bad < 10)
                fprintf(stderr, "  mismatch %s: %s\n", key, why);
            bad++;
        }
    }
    uint64_t rows = 0;
    IT_CHECK(fstore_reader_row_count(r, t, &rows) == FSTORE_OK, "row count");
    if (rows != live) {
        fprintf(stderr, "  row count %llu, want %zu live keys\n",
                (unsigned long long)rows, live);
        bad++;
    }
    fstore_reader_destroy(r);
    return bad;
}

void it_check_offsets(fstore_store_t *store, const fstore_table_t *t,
                      const char *topic, int32_t nparts,
                      int (*want)(int32_t p, void *arg), void *arg)
{
    fstore_reader_t *r;
    IT_CHECK(fstore_reader_new(store, &r) == FSTORE_OK, "reader");
    int32_t parts[256];
    int64_t offs[256];
    size_t n = 0;
    IT_CHECK(fstore_reader_offsets(r, t, parts, offs, 256, &n) == FSTORE_OK,
             "offsets");
    size_t want_n = 0;
    for (int32_t p = 0; p < nparts; p++) {
        if (want && !want(p, arg))
            continue;
        int64_t lo, hi;
        it_watermarks(topic, p, &lo, &hi);
        if (hi == 0)
            continue; /* nothing was ever written: no offset to store */
        want_n++;
        int64_t got = -2;
        for (size_t k = 0; k < n; k++)
            if (parts[k] == p)
                got = offs[k];
        if (got != hi - 1)
            IT_FAIL("applied offset of %s [%d] is %lld, want end offset - 1 = "
                    "%lld",
                    topic, p, (long long)got, (long long)(hi - 1));
    }
    if (n != want_n)
        IT_FAIL("the store has applied offsets for %zu partitions, want %zu", n,
                want_n);
    fstore_reader_destroy(r);
}

/* ---- consuming ----------------------------------------------------------- */

it_scan it_consume_all(const char *topic, int32_t nparts, const char *isolation,
                       int64_t *seen, int64_t nseen)
{
    it_scan s;
    memset(&s, 0, sizeof s);
    rd_kafka_conf_t *c = it_base_conf();
    it_conf(c, "group.id", "fstore-it-scan");
    it_conf(c, "enable.auto.commit", "false");
    it_conf(c, "enable.partition.eof", "true");
    it_conf(c, "isolation.level", isolation);
    /* As fstore's tailer sets it, so the rates compare. */
    it_conf(c, "fetch.wait.max.ms", "10");
    rd_kafka_t *rk = it_client(RD_KAFKA_CONSUMER, c);
    int64_t *his = calloc((size_t)nparts, sizeof *his);
    int64_t *last = calloc((size_t)nparts, sizeof *last);
    int *done = calloc((size_t)nparts, sizeof *done);
    int *gapped = calloc((size_t)nparts, sizeof *gapped);
    IT_CHECK(his && last && done && gapped, "calloc");
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(nparts);
    int left = 0;
    for (int32_t p = 0; p < nparts; p++) {
        int64_t lo;
        /* On the consumer itself: this also connects it, so the timing
         * below is of reading, not of connecting. */
        rd_kafka_resp_err_t e = rd_kafka_query_watermark_offsets(
            rk, topic, p, &lo, &his[p], IT_OP_TIMEOUT_MS);
        if (e)
            IT_FAIL("watermarks of %s [%d]: %s", topic, p, rd_kafka_err2str(e));
        last[p] = -1;
        if (his[p] <= lo) {
            done[p] = 1;
            continue;
        }
        /* The low watermark itself, not OFFSET_BEGINNING: a logical
         * offset makes librdkafka 2.0.2 query it first, and that query is
         * retried after 500 ms when the partition's leader connection is
         * not up yet, which would dominate the timing. */
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = lo;
        left++;
    }
    int64_t t0 = it_now_us(), deadline = t0 + 120 * 1000000LL;
    rd_kafka_poll_set_consumer(rk);
    if (left && rd_kafka_assign(rk, l))
        IT_FAIL("assign %s", topic);
    rd_kafka_topic_partition_list_destroy(l);
    /* One message per poll, the ordinary consume loop: it returns as soon as
     * a message is there (a batch call would wait for a full batch). */
    while (left > 0) {
        if (it_now_us() > deadline)
            IT_FAIL("reading %s to its end took over 120 s", topic);
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m)
            continue;
        int32_t p = m->partition;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (p >= 0 && p < nparts && !done[p]) {
                done[p] = 1;
                left--;
            }
        } else if (m->err) {
            IT_FAIL("reading %s: %s", topic, rd_kafka_message_errstr(m));
        } else if (p >= 0 && p < nparts && !done[p]) {
            s.records++;
            if (!m->payload)
                s.tombstones++;
            /* A jump between records, or a log whose start was cleaned
             * away. */
            if ((last[p] >= 0 && m->offset > last[p] + 1) ||
                (last[p] < 0 && m->offset > 0)) {
                s.gaps++;
                if (!gapped[p]++)
                    s.parts_gapped++;
            }
            last[p] = m->offset;
            if (seen && m->key && m->key_len > 4 &&
                !memcmp(m->key, "key-", 4)) {
                char k[IT_KEY_MAX] = "";
                memcpy(k, (const char *)m->key + 4,
                       m->key_len - 4 < IT_KEY_MAX - 1 ? m->key_len - 4
                                                       : IT_KEY_MAX - 1);
                long long id = atoll(k);
                if (id >= 0 && id < nseen)
                    seen[id]++;
            }
            if (m->offset >= his[p] - 1) {
                done[p] = 1;
                left--;
            }
        }
        rd_kafka_message_destroy(m);
    }
    s.seconds = (double)(it_now_us() - t0) / 1e6;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
    free(his);
    free(last);
    free(done);
    free(gapped);
    return s;
}

/* ---- stats ------------------------------------------------------------------
 */

json_t *it_stats(fstore_store_t *store)
{
    char *txt = NULL;
    fstore_err_t e = fstore_stats_json(store, &txt);
    if (e)
        IT_FAIL("fstore_stats_json: %s", fstore_err_name(e));
    json_error_t je;
    json_t *root = json_loads(txt, 0, &je);
    if (!root)
        IT_FAIL("fstore_stats_json is not JSON (%s): %.200s", je.text, txt);
    fstore_free(txt);
    return root;
}

static json_t *it_json_walk(json_t *root, va_list ap)
{
    json_t *cur = root;
    const char *k;
    while (cur && (k = va_arg(ap, const char *)))
        cur = json_object_get(cur, k);
    return cur;
}

json_t *it_json_at(json_t *root, ...)
{
    va_list ap;
    va_start(ap, root);
    json_t *j = it_json_walk(root, ap);
    va_end(ap);
    return j;
}

int64_t it_json_int(json_t *root, int64_t def, ...)
{
    va_list ap;
    va_start(ap, def);
    json_t *j = it_json_walk(root, ap);
    va_end(ap);
    return json_is_integer(j) ? (int64_t)json_integer_value(j) : def;
}

/* ---- latency
 * -------------------------------------------------------------------- */

static int it_dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double it_quantile(double *v, size_t n, double q)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, it_dcmp);
    size_t i = (size_t)(q * (double)(n - 1) + 0.5);
    return v[i < n ? i : n - 1];
}

void it_stored_offsets(fstore_store_t *s, const fstore_table_t *t,
                       int64_t *lim, int32_t nparts)
{
    for (int32_t p = 0; p < nparts; p++)
        lim[p] = -1;
    if (!s)
        return;
    fstore_reader_t *r;
    IT_CHECK(fstore_reader_new(s, &r) == FSTORE_OK, "reader");
    int32_t parts[256];
    int64_t offs[256];
    size_t n = 0;
    IT_CHECK(fstore_reader_offsets(r, t, parts, offs, 256, &n) == FSTORE_OK,
             "offsets: %s", fstore_reader_errmsg(r));
    for (size_t k = 0; k < n && k < 256; k++) {
        IT_CHECK(parts[k] >= 0 && parts[k] < nparts, "offset of partition %d",
                 parts[k]);
        lim[parts[k]] = offs[k];
    }
    fstore_reader_destroy(r);
}

fstore_store_t *it_store_open_ro(const char *dir, const char *table_name,
                                 const fstore_table_t **tablep)
{
    char errstr[1024];
    fstore_conf_t *conf = fstore_conf_new();
    IT_CHECK(conf != NULL, "fstore_conf_new");
    fstore_conf_set(conf, "store.read_only", "true", NULL, 0);
    fstore_store_t *s = NULL;
    fstore_err_t err = fstore_store_open(dir, conf, &s, errstr, sizeof errstr);
    fstore_conf_destroy(conf);
    if (err == FSTORE_ERR_NO_STORE)
        return NULL;
    if (err)
        IT_FAIL("opening %s read-only: %s: %s", dir, fstore_err_name(err),
                errstr);
    err = fstore_table_open(s, table_name, tablep);
    if (err == FSTORE_ERR_NO_TABLE) {
        fstore_store_close(s);
        return NULL;
    }
    IT_CHECK(err == FSTORE_OK, "table open: %s", fstore_err_name(err));
    return s;
}
