/*
 * The aggregator's Kafka side: its three clients (the group consumer of
 * the events, the transactional producer of outputs and changelog, the
 * changelog reader), its topics, and its output schema.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <xxhash.h>

#include "agg_int.h"
#include "registry.h"
#include "kconf.h"

static void fs_agg_log(const rd_kafka_t *rk, int level, const char *fac,
                       const char *buf)
{
    fstore_aggregator_t *a = rd_kafka_opaque(rk);
    /* librdkafka never logs a secret property, but it quotes others: a
     * secret put in the wrong property would show. */
    char line[1024];
    snprintf(line, sizeof line, "%s", buf);
    fs_kafka_redact(a->conf, line, sizeof line);
    fs_log(a->conf, level, "kafka %s: %s", fac, line);
}

/* A client: fstore's defaults, then extra (name, value pairs, NULL-ended),
 * then kafka.*, then fstore's forced settings, then forced_extra. */
static rd_kafka_t *fs_client(fstore_aggregator_t *a, rd_kafka_type_t type,
                             const char *const *extra,
                             const char *const *forced_extra,
                             rd_kafka_conf_t *rc, char *errstr,
                             size_t errstr_size, fstore_err_t *err)
{
    unsigned client = type == RD_KAFKA_CONSUMER ? FS_K_CONSUMER : FS_K_PRODUCER;
    char buf[512];
    fs_kafka_set(rc, client, 0);
    for (const char *const *p = extra; p && *p; p += 2)
        rd_kafka_conf_set(rc, p[0], p[1], NULL, 0);
    if ((*err = fs_kafka_user(a->conf, rc, errstr, errstr_size))) {
        rd_kafka_conf_destroy(rc);
        return NULL;
    }
    fs_kafka_set(rc, client, 1);
    for (const char *const *p = forced_extra; p && *p; p += 2)
        if (rd_kafka_conf_set(rc, p[0], p[1], buf, sizeof buf) != RD_KAFKA_CONF_OK) {
            rd_kafka_conf_destroy(rc);
            *err = fstore__err(errstr, errstr_size, FSTORE_ERR_CONF, "%s: %s", p[0], buf);
            return NULL;
        }
    rd_kafka_conf_set_opaque(rc, a);
    rd_kafka_conf_set_log_cb(rc, fs_agg_log);
    return fs_kafka_new(type, rc, "to aggregate", errstr, errstr_size, err);
}

/* The instance's name: aggregate.instance, or a digest of the state
 * directory's absolute path. */
static void fs_instance(fstore_aggregator_t *a, const char *state_dir, char *buf,
                        size_t size)
{
    const char *inst = fs_conf_str(a->conf, "aggregate.instance");
    if (inst) {
        snprintf(buf, size, "%s", inst);
        return;
    }
    char *real = realpath(state_dir, NULL);
    const char *p = real ? real : state_dir;
    snprintf(buf, size, "%016llx", (unsigned long long)XXH3_64bits(p, strlen(p)));
    free(real);
}

fstore_err_t fs_agg_consumer(fstore_aggregator_t *a, const char *state_dir,
                             void (*rebalance_cb)(rd_kafka_t *, rd_kafka_resp_err_t,
                                                  rd_kafka_topic_partition_list_t *,
                                                  void *),
                             char *errstr, size_t errstr_size)
{
    const char *group = fs_conf_str(a->conf, "aggregate.group");
    char inst[256];
    fs_instance(a, state_dir, inst, sizeof inst);
    /* Static membership: an instance that restarts (after a crash too)
     * takes its partitions back at once instead of waiting for the group
     * to notice its earlier self is gone. */
    const char *const extra[] = {"partition.assignment.strategy", "cooperative-sticky",
                                 "group.instance.id", inst, NULL};
    /* A new group starts at the beginning of the events; offsets move
     * only with transactions. */
    const char *const forced[] = {"group.id", group, "auto.offset.reset", "earliest",
                                  "enable.auto.commit", "false", NULL};
    rd_kafka_conf_t *rc = rd_kafka_conf_new();
    rd_kafka_conf_set_rebalance_cb(rc, rebalance_cb);
    fstore_err_t err;
    a->consumer = fs_client(a, RD_KAFKA_CONSUMER, extra, forced, rc, errstr,
                            errstr_size, &err);
    if (!a->consumer)
        return err;
    rd_kafka_poll_set_consumer(a->consumer);
    return FSTORE_OK;
}

/* Where every delivered changelog record goes: the largest offset per
 * partition in the open transaction. */
static void fs_agg_delivered(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
    (void)rk;
    fstore_aggregator_t *a = opaque;
    if (m->err || m->rkt != a->cl_rkt || m->partition < 0 || m->partition >= a->nparts)
        return;
    fs_agg_ppart *pp = &a->parts[m->partition];
    if (m->offset > pp->cl_last)
        pp->cl_last = m->offset;
}

fstore_err_t fs_agg_producer(fstore_aggregator_t *a, const char *state_dir,
                             char *errstr, size_t errstr_size)
{
    char inst[256], txid[600];
    fs_instance(a, state_dir, inst, sizeof inst);
    snprintf(txid, sizeof txid, "%s-%s", fs_conf_str(a->conf, "aggregate.group"), inst);
    /* A short backoff: right after a commit the broker answers the next
     * transaction's first request with CONCURRENT_TRANSACTIONS while it
     * writes the markers, and the default 100 ms retry would be paid on
     * every commit. */
    const char *const extra[] = {"retry.backoff.ms", "10", "linger.ms", "5",
                                 "transaction.timeout.ms", "60000", NULL};
    const char *const forced[] = {"transactional.id", txid, "enable.idempotence",
                                  "true", NULL};
    rd_kafka_conf_t *rc = rd_kafka_conf_new();
    rd_kafka_conf_set_dr_msg_cb(rc, fs_agg_delivered);
    fstore_err_t err;
    a->producer = fs_client(a, RD_KAFKA_PRODUCER, extra, forced, rc, errstr,
                            errstr_size, &err);
    if (!a->producer)
        return err;
    rd_kafka_error_t *e = rd_kafka_init_transactions(a->producer, 30000);
    if (e) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA,
                          "initializing transactions (%s): %s", txid,
                          rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return err;
    }
    fs_log(a->conf, 6, "aggregator: transactional id %s", txid);
    return FSTORE_OK;
}

fstore_err_t fs_agg_reader(fstore_aggregator_t *a, char *errstr, size_t errstr_size)
{
    const char *const forced[] = {"group.id", "fstore-aggregate-restore",
                                  "enable.auto.commit", "false", NULL};
    fstore_err_t err;
    a->reader = fs_client(a, RD_KAFKA_CONSUMER, NULL, forced, rd_kafka_conf_new(),
                          errstr, errstr_size, &err);
    return a->reader ? FSTORE_OK : err;
}

/* ---- topics ---- */

/* The partition count of topic, 0 when it does not exist, -1 on error. */
static int32_t fs_partitions(rd_kafka_t *rk, const char *topic, char *errstr,
                             size_t errstr_size)
{
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    rd_kafka_topic_destroy(rkt);
    if (e) {
        fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA,
                    "metadata of topic %s: %s", topic, rd_kafka_err2str(e));
        return -1;
    }
    int32_t n = 0;
    if (md->topic_cnt == 1 && !md->topics[0].err)
        n = md->topics[0].partition_cnt;
    else if (md->topic_cnt == 1 &&
             md->topics[0].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA, "topic %s: %s", topic,
                    rd_kafka_err2str(md->topics[0].err));
        n = -1;
    }
    rd_kafka_metadata_destroy(md);
    return n;
}

/* Creates a topic of n partitions, compacted or not (an existing one is
 * fine). */
static fstore_err_t fs_create(rd_kafka_t *rk, const char *topic, int32_t n,
                              int compact, char *errstr, size_t errstr_size)
{
    char buf[512];
    rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, n, -1, buf, sizeof buf);
    if (!nt)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA, "topic %s: %s", topic, buf);
    if (compact)
        rd_kafka_NewTopic_set_config(nt, "cleanup.policy", "compact");
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
    rd_kafka_event_t *ev = rd_kafka_queue_poll(q, 30000);
    fstore_err_t err = FSTORE_OK;
    const rd_kafka_CreateTopics_result_t *res = ev ? rd_kafka_event_CreateTopics_result(ev) : NULL;
    size_t cnt = 0;
    const rd_kafka_topic_result_t **tr = res ? rd_kafka_CreateTopics_result_topics(res, &cnt) : NULL;
    if (!ev || rd_kafka_event_error(ev))
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA, "creating topic %s: %s",
                          topic, ev ? rd_kafka_event_error_string(ev) : "timed out");
    else if (cnt == 1 && rd_kafka_topic_result_error(tr[0]) &&
             rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA, "creating topic %s: %s",
                          topic, rd_kafka_topic_result_error_string(tr[0]));
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_NewTopic_destroy(nt);
    return err;
}

fstore_err_t fs_agg_topics(fstore_aggregator_t *a, char *errstr, size_t errstr_size)
{
    const fs_agg_spec *s = a->spec;
    int32_t n = fs_partitions(a->producer, s->input_topic, errstr, errstr_size);
    if (n < 0)
        return FSTORE_ERR_KAFKA;
    if (n == 0)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA,
                           "the events topic %s does not exist", s->input_topic);
    const char *topics[2] = {s->output_topic, s->changelog};
    for (int i = 0; i < 2; i++) {
        int32_t m = fs_partitions(a->producer, topics[i], errstr, errstr_size);
        fstore_err_t err = FSTORE_OK;
        if (m < 0)
            return FSTORE_ERR_KAFKA;
        if (m == 0 && (err = fs_create(a->producer, topics[i], n, 1, errstr, errstr_size)))
            return err;
        if (m > 0 && m != n)
            return fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA,
                               "topic %s has %d partitions, the events topic %s "
                               "%d: output and changelog are partitioned as "
                               "the events",
                               topics[i], m, s->input_topic, n);
    }
    const char *dlq = fs_conf_str(a->conf, "aggregate.dead_letter_topic");
    int32_t m = dlq ? fs_partitions(a->producer, dlq, errstr, errstr_size) : 1;
    fstore_err_t err = m < 0 ? FSTORE_ERR_KAFKA
                       : m == 0 ? fs_create(a->producer, dlq, n, 0, errstr, errstr_size)
                                : FSTORE_OK;
    if (err)
        return err;
    a->nparts = n;
    a->parts = calloc((size_t)n, sizeof *a->parts);
    a->pub = calloc((size_t)n, sizeof *a->pub);
    if (!a->parts || !a->pub)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    for (int32_t p = 0; p < n; p++)
        a->parts[p].cl_last = -1;
    a->out_rkt = rd_kafka_topic_new(a->producer, s->output_topic, NULL);
    a->cl_rkt = rd_kafka_topic_new(a->producer, s->changelog, NULL);
    if (dlq)
        a->dlq_rkt = rd_kafka_topic_new(a->producer, dlq, NULL);
    return FSTORE_OK;
}

/* ---- the output schema ---- */

/* Registers the output schema under <output topic>-value and takes the
 * id the registry gives it (which output.schema_id, when given, must be). */
static fstore_err_t fs_output_schema_register(fstore_aggregator_t *a, const char *url,
                                              const char *schema, char *errstr,
                                              size_t errstr_size)
{
    fs_agg_spec *s = a->spec;
    char subject[1100];
    snprintf(subject, sizeof subject, "%.1000s-value", s->output_topic);
    int32_t id;
    fstore_err_t err =
        fs_registry_register(url, (long)fs_conf_u64(a->conf, "registry.timeout_ms"), subject,
                             schema, &id, errstr, errstr_size);
    if (err)
        return err;
    if (s->output_schema_id >= 0 && s->output_schema_id != id)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA_MISMATCH,
                           "the schema registry holds the output schema under subject %s "
                           "as id %d, but the spec's output.schema_id is %d: set it to %d "
                           "or leave it out",
                           subject, id, s->output_schema_id, id);
    s->output_schema_id = id;
    fs_log(a->conf, 6, "aggregator: output schema registered under %s as id %d", subject,
           id);
    return FSTORE_OK;
}

fstore_err_t fs_agg_output_schema_check(fstore_aggregator_t *a, char *errstr,
                                        size_t errstr_size)
{
    const char *dir = fs_conf_str(a->conf, "schemas.dir");
    const char *url = fs_conf_str(a->conf, "registry.url");
    if (!url && a->spec->output_schema_id < 0)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                           "spec: output.schema_id is required without a schema registry "
                           "(the id the output schema is written under in schemas.dir)");
    if (!url && !dir)
        return FSTORE_OK; /* the user has put the schema where readers find it */
    char *schema = fs_agg_output_schema(a->spec);
    if (!schema)
        return fstore__err(errstr, errstr_size, FSTORE_ERR_NO_MEMORY, "out of memory");
    fstore_err_t err = FSTORE_OK;
    if (url) {
        err = fs_output_schema_register(a, url, schema, errstr, errstr_size);
        free(schema);
        return err;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/%d.avsc", dir, a->spec->output_schema_id);
    char *text = fs_read_file(path, 16u << 20);
    FILE *f;
    if (text) {
        char *have = fs_json_canonical(text, NULL, 0);
        char *want = fs_json_canonical(schema, NULL, 0);
        if (!have || !want || strcmp(have, want))
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_SCHEMA_MISMATCH,
                              "%s holds another schema than the spec derives; "
                              "give the output a new schema_id",
                              path);
        free(have);
        free(want);
        free(text);
    } else if (errno != ENOENT) {
        err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "reading %s: %s", path,
                          strerror(errno));
    } else {
        /* Written aside and renamed: never a partial file under the id. */
        char tmp[4200];
        snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
        int bad = !(f = fopen(tmp, "wb"));
        if (!bad) {
            bad = fputs(schema, f) < 0;
            bad = fclose(f) != 0 || bad;
        }
        if (bad || rename(tmp, path)) {
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_IO, "writing %s: %s", path,
                              strerror(errno));
            unlink(tmp);
        }
    }
    free(schema);
    return err;
}
