/*
 * Record fingerprints: is the topic still the one the store applied?
 *
 * Offsets alone cannot tell a topic from one deleted and recreated under
 * the same name (librdkafka exposes no topic ids): a new topic that already
 * holds more records than the store applied looks valid at the stored
 * offset + 1. So with every partition's offset the store keeps the offset
 * and fingerprint (key, value, tombstone or not) of the last record applied
 * (batch.c, FS_META_FPRINT). A partition resumes at that record instead of
 * after it, and the record must come back unchanged: then it and anything
 * up to the stored offset are skipped (applied already); a different record
 * there means the topic was replaced, and tail.offset_reset decides (fail,
 * or rebuild the table). A partition whose topic vanishes while tailing
 * seeks back to its last record when records come again, and checks it the
 * same way. A deletion and re-creation quicker than the watcher's metadata
 * requests (every half second) goes unseen.
 * A record compacted away since cannot be checked: the partition resumes
 * unchecked, as it would without fingerprints.
 */
#include <stdio.h>
#include <xxhash.h>

#include "tail_int.h"

uint64_t fs_record_fp(const rd_kafka_message_t *m)
{
    uint64_t seed = XXH3_64bits(m->key, m->key ? m->key_len : 0);
    if (!m->payload)
        return XXH3_64bits_withSeed("tombstone", 9, seed);
    return XXH3_64bits_withSeed(m->payload, m->len, ~seed);
}

fs_ttopic *fs_reset_policy(fs_tailer *T, fs_ttopic *tt, int32_t p,
                           const char *why)
{
    if (!T->rebuild) {
        fs_fail(T, FSTORE_ERR_KAFKA,
                "%s [%d]: %s; set tail.offset_reset=rebuild to reload the "
                "table, or rebuild the store",
                tt->topic, p, why);
        return NULL;
    }
    TLOG(T, 4, "%s [%d]: %s; rebuilding table \"%s\" from the beginning of "
         "the topic",
         tt->topic, p, why, tt->table->name);
    return tt;
}

/* Reassigns partition p of tt at offset (a new assignment: a seek does not
 * restart a partition stopped by an error). */
static int fs_reassign_at(fs_tailer *T, fs_ttopic *tt, int32_t p,
                          int64_t offset)
{
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, tt->topic, p);
    rd_kafka_error_t *e = rd_kafka_incremental_unassign(T->rk, l);
    if (!e) {
        l->elems[0].offset = offset;
        e = rd_kafka_incremental_assign(T->rk, l);
    }
    rd_kafka_topic_partition_list_destroy(l);
    if (e) {
        fs_fail(T, FSTORE_ERR_KAFKA, "reassigning %s [%d] at offset %lld: %s",
                tt->topic, p, (long long)offset, rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        return -1;
    }
    return 0;
}

int fs_verify_record(fs_tailer *T, const rd_kafka_message_t *m,
                     fs_ttopic **rebuild)
{
    *rebuild = NULL;
    size_t ti;
    fs_ttopic *tt = fs_topic_of(T, m, &ti);
    fs_tpart *tp = tt ? fs_part(tt, m->partition) : NULL;
    /* A record of a partition not assigned now (fetched before a rebuild
     * unassigned it) must not move the stored offset. */
    if (tt && (!tp || !tp->assigned))
        return 1;
    if (tp && tp->replaced)
        return 1;
    if (tp && tp->recheck) {
        tp->recheck = 0;
        tp->verify = 1;
        if (m->offset != tp->fp_offset) {
            rd_kafka_topic_partition_list_t *l =
                rd_kafka_topic_partition_list_new(1);
            rd_kafka_topic_partition_list_add(l, tt->topic, m->partition)
                ->offset = tp->fp_offset;
            rd_kafka_error_t *e = rd_kafka_seek_partitions(T->rk, l, 5000);
            rd_kafka_topic_partition_list_destroy(l);
            if (e) {
                fs_fail(T, FSTORE_ERR_KAFKA, "seeking %s [%d] to offset %lld: %s",
                        tt->topic, m->partition, (long long)tp->fp_offset,
                        rd_kafka_error_string(e));
                rd_kafka_error_destroy(e);
            }
            return 2;
        }
    }
    if (!tp || (!tp->verify && m->offset > tp->skip_through))
        return 0;
    if (tp->verify) {
        tp->verify = 0;
        if (m->offset == tp->fp_offset && fs_record_fp(m) != tp->fp) {
            char why[160];
            snprintf(why, sizeof why,
                     "the record at offset %lld is not the one this store "
                     "applied there (the topic was deleted and recreated, "
                     "or rewritten)",
                     (long long)m->offset);
            tp->replaced = 1;
            *rebuild = fs_reset_policy(T, tt, m->partition, why);
            return 1;
        }
        if (m->offset == tp->fp_offset)
            TLOG(T, 7, "%s [%d]: offset %lld still holds the record applied "
                 "last", tt->topic, m->partition, (long long)m->offset);
        else
            TLOG(T, 6, "%s [%d]: the record applied last (offset %lld) is no "
                 "longer in the topic (compacted): resuming without checking "
                 "it", tt->topic, m->partition, (long long)tp->fp_offset);
    }
    if (m->offset > tp->skip_through)
        return 0;
    /* Applied before: consumed, as far as readiness goes. */
    pthread_mutex_lock(&T->mu);
    tp->delivered = m->offset + 1;
    pthread_mutex_unlock(&T->mu);
    return 1;
}

void fs_partition_vanished(fs_tailer *T, fs_ttopic *tt, int32_t p)
{
    for (int32_t i = p < 0 ? 0 : p; i < tt->nparts && (p < 0 || i == p); i++) {
        fs_tpart *tp = &tt->parts[i];
        if (!tp->assigned || tp->verify || tp->recheck || tp->fp_offset < 0)
            continue;
        pthread_mutex_lock(&T->mu);
        int64_t done = tp->delivered - 1 > tp->applied ? tp->delivered - 1
                                                       : tp->applied;
        pthread_mutex_unlock(&T->mu);
        TLOG(T, 4, "%s [%d]: the partition is gone from the broker (topic "
             "deleted?); when it returns, its record at offset %lld must "
             "still be the one applied, or tail.offset_reset decides",
             tt->topic, i, (long long)tp->fp_offset);
        tp->recheck = 1;
        tp->skip_through = done;
    }
}

int fs_verify_give_up(fs_tailer *T, fs_ttopic *tt, int32_t p)
{
    fs_tpart *tp = fs_part(tt, p);
    if (!tp)
        return 0;
    if (tp->recheck) {
        tp->recheck = 0; /* back shorter than what the store applied */
        return 0;
    }
    if (!tp->verify)
        return 0;
    tp->verify = 0;
    TLOG(T, 6, "%s [%d]: the record applied last (offset %lld) is below the "
         "log start: resuming after offset %lld without checking it",
         tt->topic, p, (long long)tp->fp_offset, (long long)tp->skip_through);
    fs_reassign_at(T, tt, p, tp->skip_through + 1);
    return 1;
}
