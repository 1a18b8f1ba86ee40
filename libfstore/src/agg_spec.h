/*
 * Aggregation specs: the JSON that tells `fstore aggregate` what to read,
 * which windows to keep and which features to compute (docs/aggregate.md).
 * Parsing checks every mistake a user can make and names it; the parsed
 * spec also derives the output schema. Knows Avro schemas (through the
 * events' row layout), nothing of Kafka or LMDB.
 */
#ifndef FSTORE_AGG_SPEC_H
#define FSTORE_AGG_SPEC_H

#include "layout.h"

typedef enum fs_agg_op {
    FS_AGG_COUNT,
    FS_AGG_SUM,
    FS_AGG_MEAN,
    FS_AGG_MIN,
    FS_AGG_MAX,
    FS_AGG_LAST
} fs_agg_op;

typedef enum fs_agg_format {
    FS_AGG_CONFLUENT, /* Confluent-framed Avro, writer schemas by id */
    FS_AGG_AVRO,      /* raw Avro written with the spec's schema */
    FS_AGG_JSON       /* one JSON object per value */
} fs_agg_format;

/* One window: its size and hop, both in milliseconds, the hop dividing the
 * size. At stream time q it holds the events of the tiles (hops) numbered
 * floor(q / hop) - size / hop to floor(q / hop): ntiles of them. */
typedef struct fs_agg_window {
    char *name; /* as the spec writes it ("5m"), the suffix of field names */
    int64_t size_ms, hop_ms;
    int32_t ntiles; /* size / hop + 1 */
} fs_agg_window;

typedef struct fs_agg_feature {
    char *name;
    fs_agg_op op;
    char *field; /* the events' field; NULL for count */
    int col;     /* its column in the events' layout; -1 for count */
    int slot;    /* sum/mean/min/max: index of the numeric field;
                    last: index of the last value; count: -1 */
} fs_agg_feature;

typedef struct fs_agg_spec {
    char *input_topic;
    fs_agg_format format;
    char *schema_json; /* the events' reader schema; NULL for schemaless JSON */
    fs_layout *events; /* its layout; NULL for schemaless JSON */
    char *time_field;  /* NULL: the Kafka record timestamp */
    int time_col;      /* its column in the events' layout, or -1 */
    char *output_topic, *output_name;
    int32_t output_schema_id; /* -1 until the registry gives it */
    char *changelog; /* default <output_topic>-state */
    fs_agg_window *windows; /* by size, then hop */
    int nwindows;
    fs_agg_feature *features; /* in the spec's order */
    int nfeatures;
    /* Numeric fields read by sum/mean/min/max, each once: the events'
     * columns (schemaless JSON: -1) and names. */
    int *num_cols;
    char **num_names;
    int nnum;
    int nlast; /* features with op last */
} fs_agg_spec;

/* The tiles of all windows together (window / hop + 1 each) are at most
 * this many: an entity's state is bounded by them. */
#define FS_AGG_MAX_TILES 10000

/* Parses spec_json. Reads the events' schema file the spec names, relative
 * to base_dir (NULL: the working directory), unless schema_json is given
 * (it then wins). FSTORE_ERR_CONF with a message naming the mistake: an
 * unknown key or field, a bad duration, a hop that does not divide its
 * window, an op on a non-numeric field, duplicate output names... */
fstore_err_t fs_agg_spec_parse(const char *spec_json, const char *base_dir,
                               const char *schema_json, fs_agg_spec **out,
                               char *errstr, size_t errstr_size);
void fs_agg_spec_free(fs_agg_spec *s); /* accepts NULL */

/* Parses a duration "<n>ms|s|m|h|d" (n > 0) into milliseconds; -1 when
 * invalid or beyond a year of days. */
int64_t fs_agg_duration(const char *text);

/* The Avro schema (JSON, malloc'ed) of the output records the spec
 * describes: for each windowed feature and window a field
 * "<name>_<window>" (count: long; sum: double; mean, min, max:
 * ["null","double"]), for each last feature a field "<name>" of
 * ["null", the events' type], then "event_time" and "as_of"
 * (timestamp-millis longs). NULL when out of memory. */
char *fs_agg_output_schema(const fs_agg_spec *s);

#endif
