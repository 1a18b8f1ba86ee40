/*
 * Unit suite of the aggregation state (agg_store.h): entities staged in a
 * transaction and visible only after commit, aborts that leave nothing,
 * the index of entities by their next change, changelog values applied as
 * they come, partitions dropped, and a state directory refused by a spec
 * of another shape.
 */
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>

#include "agg_store.h"
#include "testutil.h"

static const char events[] =
    "{\"type\":\"record\",\"name\":\"ev\",\"fields\":["
    "{\"name\":\"ts\",\"type\":\"long\"},{\"name\":\"amount\",\"type\":\"double\"}]}";
static const char spec_json[] =
    "{\"input\":{\"topic\":\"e\",\"time\":\"ts\"},\"output\":{\"topic\":\"o\",\"schema_id\":1},"
    "\"windows\":{\"5m\":\"1m\"},\"features\":[{\"name\":\"n\",\"op\":\"count\"},"
    "{\"name\":\"a\",\"op\":\"sum\",\"field\":\"amount\"}]}";

#define MIN 60000

static char *dir;
static fs_agg_spec *spec;
static fs_agg_store *st;
static char err[512];

static void setup(void)
{
    dir = tu_tmpdir();
    cr_assert_eq(fs_agg_spec_parse(spec_json, NULL, events, &spec, err, sizeof err),
                 FSTORE_OK, "%s", err);
    fstore_conf_t *c = tu_conf("store.sync", "none", NULL);
    cr_assert_eq(fs_agg_store_open(dir, spec, c, &st, err, sizeof err), FSTORE_OK, "%s", err);
    fstore_conf_destroy(c);
}

static void teardown(void)
{
    fs_agg_store_close(st);
    fs_agg_spec_free(spec);
    tu_rmtree(dir);
    free(dir);
}

TestSuite(agg_store, .init = setup, .fini = teardown);

static fs_agg_entity *entity_at(int64_t t)
{
    fs_agg_entity *e = fs_agg_entity_new(spec);
    double v = 1.5;
    uint8_t nul = 0;
    fs_agg_event ev = {t, &v, &nul, NULL};
    cr_assert_eq(fs_agg_add(e, spec, &ev, t), 1);
    return e;
}

static fs_agg_txn *begin(void)
{
    fs_agg_txn *tx;
    cr_assert_eq(fs_agg_txn_begin(st, &tx, err, sizeof err), FSTORE_OK, "%s", err);
    return tx;
}

static int collect(void *arg, const void *key, size_t len)
{
    fs_buf *b = arg;
    fs_buf_append(b, key, len);
    fs_buf_append(b, ",", 1);
    return 0;
}

/* Collects and deletes every entity due at q. */
typedef struct due_ctx {
    fs_agg_txn *tx;
    fs_buf names;
} due_ctx;

static int delete_due(void *arg, const void *key, size_t len)
{
    due_ctx *d = arg;
    fs_buf_append(&d->names, key, len);
    fs_buf_append(&d->names, ",", 1);
    return fs_agg_txn_put(d->tx, 0, key, len, NULL, 0, err, sizeof err) ? 1 : 0;
}

Test(agg_store, staged_until_commit_and_aborts_leave_nothing)
{
    fs_agg_entity *e = entity_at(30000), *r = fs_agg_entity_new(spec);
    fs_agg_txn *tx = begin();
    fs_agg_txn *second;
    cr_assert_eq(fs_agg_txn_begin(st, &second, err, sizeof err), FSTORE_ERR_STATE);
    cr_assert_eq(fs_agg_txn_put(tx, 0, "u1", 2, e, 30000, err, sizeof err), FSTORE_OK, "%s", err);
    fs_agg_part part = {30000, 17};
    cr_assert_eq(fs_agg_txn_part_put(tx, 0, &part), FSTORE_OK);
    /* Visible inside the transaction... */
    cr_assert_eq(fs_agg_txn_get(tx, 0, "u1", 2, r, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_eq(fs_agg_event_time(r), 30000);
    fs_agg_txn_abort(tx);
    /* ...gone after an abort. */
    tx = begin();
    cr_assert_eq(fs_agg_txn_get(tx, 0, "u1", 2, r, err, sizeof err), FSTORE_NOT_FOUND);
    cr_assert_eq(fs_agg_event_time(r), INT64_MIN, "a new entity");
    fs_agg_part got;
    cr_assert_eq(fs_agg_txn_part(tx, 0, &got), FSTORE_NOT_FOUND);
    cr_assert_eq(fs_agg_txn_put(tx, 0, "u1", 2, e, 30000, err, sizeof err), FSTORE_OK);
    cr_assert_eq(fs_agg_txn_part_put(tx, 0, &part), FSTORE_OK);
    cr_assert_eq(fs_agg_txn_commit(tx, err, sizeof err), FSTORE_OK, "%s", err);
    /* Committed: there after a reopen. */
    fs_agg_store_close(st);
    cr_assert_eq(fs_agg_store_open(dir, spec, NULL, &st, err, sizeof err), FSTORE_OK, "%s", err);
    tx = begin();
    cr_assert_eq(fs_agg_txn_get(tx, 0, "u1", 2, r, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_eq(fs_agg_txn_part(tx, 0, &got), FSTORE_OK);
    cr_assert_eq(got.q, 30000);
    cr_assert_eq(got.changelog_next, 17);
    cr_assert_eq(fs_agg_txn_get(tx, 1, "u1", 2, r, err, sizeof err), FSTORE_NOT_FOUND,
                 "partitions are apart");
    cr_assert_eq(fs_agg_txn_count(tx, 0), 1);
    cr_assert_eq(fs_agg_txn_count(tx, -1), 1);
    fs_agg_txn_abort(tx);
    fs_agg_entity_free(e);
    fs_agg_entity_free(r);
}

Test(agg_store, due_index_follows_next_change)
{
    fs_agg_txn *tx = begin();
    /* u-a at 0:10 (changes at 6:00), u-b at 2:10 (8:00), u-c at 1:10 (7:00). */
    const char *keys[] = {"u-a", "u-b", "u-c"};
    int64_t ts[] = {10000, 2 * MIN + 10000, MIN + 10000};
    for (int i = 0; i < 3; i++) {
        fs_agg_entity *e = entity_at(ts[i]);
        cr_assert_eq(fs_agg_txn_put(tx, 0, keys[i], 3, e, 2 * MIN + 10000, err, sizeof err),
                     FSTORE_OK, "%s", err);
        fs_agg_entity_free(e);
    }
    fs_buf got = {0};
    cr_assert_eq(fs_agg_txn_due(tx, 0, 5 * MIN, collect, &got), 0);
    cr_assert_eq(got.len, 0, "nothing changes before 6:00");
    cr_assert_eq(fs_agg_txn_due(tx, 0, 6 * MIN, collect, &got), -1,
                 "a callback that leaves the entity due ends the scan");
    got.len = 0;
    due_ctx d = {tx, {0}};
    cr_assert_eq(fs_agg_txn_due(tx, 0, 7 * MIN, delete_due, &d), 0);
    fs_buf_append(&d.names, "", 1);
    cr_assert_str_eq((char *)d.names.data, "u-a,u-c,", "in order of change, up to 7:00");
    cr_assert_eq(fs_agg_txn_count(tx, 0), 1);
    /* Moving an entity moves its index entry: u-b again at 9:00. */
    fs_agg_entity *e = entity_at(9 * MIN);
    cr_assert_eq(fs_agg_txn_put(tx, 0, "u-b", 3, e, 9 * MIN, err, sizeof err), FSTORE_OK);
    d.names.len = 0;
    cr_assert_eq(fs_agg_txn_due(tx, 0, 10 * MIN, delete_due, &d), 0);
    cr_assert_eq(d.names.len, 0, "its old change time (8:00) was unindexed");
    fs_agg_entity_free(e);
    fs_buf_free(&got);
    fs_buf_free(&d.names);
    fs_agg_txn_abort(tx);
}

Test(agg_store, changelog_values_and_dropped_partitions)
{
    fs_agg_entity *e = entity_at(MIN), *r = fs_agg_entity_new(spec);
    fs_buf val = {0};
    int64_t q = MIN;
    fs_buf_append(&val, &q, 8);
    cr_assert_eq(fs_agg_state_write(e, spec, q, &val), 0);
    fs_agg_txn *tx = begin();
    cr_assert_eq(fs_agg_txn_put_bytes(tx, 3, "k", 1, val.data, val.len, err, sizeof err),
                 FSTORE_OK, "%s", err);
    cr_assert_eq(fs_agg_txn_get(tx, 3, "k", 1, r, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_eq(fs_agg_next_change(r, spec, q), 7 * MIN);
    cr_assert_eq(fs_agg_txn_put_bytes(tx, 3, "k", 1, val.data, 5, err, sizeof err),
                 FSTORE_ERR_CORRUPT);
    cr_assert_eq(fs_agg_txn_put_bytes(tx, 3, "k", 1, val.data, val.len - 1, err, sizeof err),
                 FSTORE_ERR_CORRUPT);
    cr_assert_eq(fs_agg_txn_put_bytes(tx, 3, "gone", 4, val.data, val.len, err, sizeof err),
                 FSTORE_OK);
    cr_assert_eq(fs_agg_txn_put_bytes(tx, 3, "gone", 4, NULL, 0, err, sizeof err), FSTORE_OK,
                 "a tombstone deletes");
    cr_assert_eq(fs_agg_txn_get(tx, 3, "gone", 4, r, err, sizeof err), FSTORE_NOT_FOUND);
    cr_assert_eq(fs_agg_txn_put_bytes(tx, 4, "k", 1, val.data, val.len, err, sizeof err),
                 FSTORE_OK);
    fs_agg_part part = {q, 9};
    fs_agg_txn_part_put(tx, 3, &part);
    cr_assert_eq(fs_agg_txn_drop(tx, 3, err, sizeof err), FSTORE_OK, "%s", err);
    cr_assert_eq(fs_agg_txn_count(tx, 3), 0);
    cr_assert_eq(fs_agg_txn_count(tx, 4), 1, "other partitions stay");
    cr_assert_eq(fs_agg_txn_part(tx, 3, &part), FSTORE_NOT_FOUND);
    fs_buf got = {0};
    cr_assert_eq(fs_agg_txn_due(tx, 3, INT64_MAX, collect, &got), 0);
    cr_assert_eq(got.len, 0, "no index entries left");
    /* Keys are bounded. */
    char big[FS_AGG_MAX_KEY + 1];
    memset(big, 'x', sizeof big);
    cr_assert_eq(fs_agg_txn_put(tx, 4, big, sizeof big, e, q, err, sizeof err), FSTORE_ERR_KEY);
    cr_assert_eq(fs_agg_txn_put(tx, 4, big, 0, e, q, err, sizeof err), FSTORE_ERR_KEY);
    fs_agg_txn_abort(tx);
    fs_buf_free(&val);
    fs_buf_free(&got);
    fs_agg_entity_free(e);
    fs_agg_entity_free(r);
}

Test(agg_store, another_spec_is_refused)
{
    fs_agg_store_close(st);
    st = NULL;
    fs_agg_spec *other;
    const char *json =
        "{\"input\":{\"topic\":\"e\",\"time\":\"ts\"},\"output\":{\"topic\":\"o\",\"schema_id\":1},"
        "\"windows\":{\"10m\":\"1m\"},\"features\":[{\"name\":\"n\",\"op\":\"count\"},"
        "{\"name\":\"a\",\"op\":\"sum\",\"field\":\"amount\"}]}";
    cr_assert_eq(fs_agg_spec_parse(json, NULL, events, &other, err, sizeof err), FSTORE_OK);
    fs_agg_store *o = (fs_agg_store *)1;
    cr_assert_eq(fs_agg_store_open(dir, other, NULL, &o, err, sizeof err),
                 FSTORE_ERR_SCHEMA_MISMATCH);
    cr_assert_null(o);
    cr_assert_not_null(strstr(err, "other windows or features"), "%s", err);
    fs_agg_spec_free(other);
    /* The same spec still opens it. */
    cr_assert_eq(fs_agg_store_open(dir, spec, NULL, &st, err, sizeof err), FSTORE_OK, "%s", err);
}
