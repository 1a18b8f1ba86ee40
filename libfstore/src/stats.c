/* fstore_stats_json: the tailer's figures (live, or as last recorded in the
 * store) joined with what the store itself knows: applied offsets and row
 * counts of one consistent snapshot. */
#include <jansson.h>
#include <stdlib.h>
#include <time.h>

#include "reader.h"
#include "tail.h"

void fstore_free(void *p) { free(p); }

static json_t *fs_obj(json_t *parent, const char *key)
{
    json_t *o = json_object_get(parent, key);
    if (!json_is_object(o)) {
        o = json_object();
        json_object_set_new(parent, key, o);
    }
    return o;
}

fstore_err_t fstore_stats_json(fstore_store_t *s, char **json)
{
    if (!s || !json)
        return FSTORE_ERR_INVALID_ARG;
    *json = NULL;
    json_t *root = NULL;
    const char *source = "none";
    if (fs_tailer_running(s->tail)) {
        root = fs_tailer_stats(s->tail);
        source = "live";
    } else {
        char *txt = fs_store_get_stats(s);
        if (txt) {
            root = json_loads(txt, 0, NULL);
            source = root ? "recorded" : "none";
            free(txt);
        }
    }
    if (!root)
        root = json_object();
    if (!root)
        return FSTORE_ERR_NO_MEMORY;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    int64_t now_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
    json_object_set_new(root, "source", json_string(source));
    json_object_set_new(root, "time_ms", json_integer(now_ms));
    json_object_set_new(root, "version", json_string(fstore_version_str()));
    json_t *cur = json_object_get(root, "last_current_ms");
    if (json_is_integer(cur) && json_integer_value(cur) > 0)
        json_object_set_new(root, "staleness_ms",
                            json_integer(now_ms - json_integer_value(cur)));

    fstore_reader_t *r;
    fstore_err_t err = fstore_reader_new(s, &r);
    fs_usage u = {0};
    if (!err && !(err = fs_reader_ensure(r))) {
        int rc = fs_store_usage(s, r->txn, &u);
        if (rc)
            err = fs_mdb_err(rc, "reading the store's page use", NULL, 0);
        else
            json_object_set_new(
                root, "store",
                json_pack("{s:I, s:I, s:I, s:I, s:I}", "page_size",
                          (json_int_t)u.page_size, "data_bytes",
                          (json_int_t)(u.pages * u.page_size), "used_bytes",
                          (json_int_t)((u.pages - u.free_pages) * u.page_size),
                          "free_bytes", (json_int_t)(u.free_pages * u.page_size),
                          "map_size", (json_int_t)u.map_size));
    }
    json_t *tables = fs_obj(root, "tables");
    size_t nt = fstore_table_count(s);
    for (size_t i = 0; !err && i < nt; i++) {
        const fstore_table_t *t = fstore_table_at(s, i);
        json_t *jt = fs_obj(tables, t->name);
        uint64_t rows = 0;
        if ((err = fstore_reader_row_count(r, t, &rows)))
            break;
        json_object_set_new(jt, "rows", json_integer((json_int_t)rows));
        json_object_set_new(
            jt, "bytes",
            json_integer((json_int_t)(fs_table_pages(t, r->txn) * u.page_size)));
        size_t np = 0;
        if ((err = fstore_reader_offsets(r, t, NULL, NULL, 0, &np)))
            break;
        int32_t *parts = calloc(np + 1, sizeof *parts);
        int64_t *offs = calloc(np + 1, sizeof *offs);
        if (!parts || !offs) {
            free(parts);
            free(offs);
            err = FSTORE_ERR_NO_MEMORY;
            break;
        }
        err = fstore_reader_offsets(r, t, parts, offs, np, &np);
        json_t *jp = fs_obj(jt, "partitions");
        for (size_t k = 0; !err && k < np; k++) {
            char name[16];
            snprintf(name, sizeof name, "%d", parts[k]);
            json_t *p = fs_obj(jp, name);
            json_object_set_new(p, "applied_offset", json_integer(offs[k]));
            /* Lag against the last end offset the tailer saw. */
            json_t *end = json_object_get(p, "end_offset");
            if (json_is_integer(end) && json_integer_value(end) >= 0) {
                json_int_t lag = json_integer_value(end) - (offs[k] + 1);
                json_object_set_new(p, "lag", json_integer(lag < 0 ? 0 : lag));
            }
        }
        free(parts);
        free(offs);
    }
    fstore_reader_destroy(r);
    if (!err) {
        *json = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (!*json)
            err = FSTORE_ERR_NO_MEMORY;
    }
    json_decref(root);
    return err;
}
