/*
 * Schemas shared by the decode and schema fuzz targets and their seed
 * generators.
 *
 * The serving schema covers every column type fstore supports. The writer
 * schemas exercise every rule by which fstore resolves a writer schema
 * against a serving schema (Avro schema resolution): identical schema,
 * extra fields to skip (nested record, map, array of records, unions),
 * missing fields taking defaults, int->long->float->double promotion,
 * ["null", T] unions on both sides, enum and string/bytes resolution, an
 * incompatible writer, and hard-to-skip recursive data. Field order in the
 * serving schema is chosen so that seeds can be corrupted at known offsets:
 * the string "s" comes first, right after the 5-byte Confluent header.
 */
#ifndef FSTORE_FUZZ_SCHEMAS_H
#define FSTORE_FUZZ_SCHEMAS_H

/* Eight ASCII characters: jansson (under avro-c) rejects NUL escapes. */
#define FUZZ_FIXED_DEFAULT "01234567"

/* The serving (reader) schema of every fuzzed table. Column "e2" reuses the
 * enum type of "e" by name (a named-type reference). The nullable enum and
 * fixed columns "ne"/"nfx" define their own types in namespace fuzz.n (same
 * unqualified names as fuzz.Color/fuzz.Hash) so that writers can send them
 * as references to their own Color/Hash types, which resolve by name. */
static const char FUZZ_SERVING_SCHEMA[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"s\",\"type\":\"string\",\"default\":\"\"},"
    "{\"name\":\"by\",\"type\":\"bytes\",\"default\":\"\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"Color\","
    "\"symbols\":[\"RED\",\"GREEN\",\"BLUE\"]},\"default\":\"RED\"},"
    "{\"name\":\"e2\",\"type\":\"Color\",\"default\":\"GREEN\"},"
    "{\"name\":\"b\",\"type\":\"boolean\",\"default\":false},"
    "{\"name\":\"i\",\"type\":\"int\",\"default\":0},"
    "{\"name\":\"l\",\"type\":\"long\",\"default\":0},"
    "{\"name\":\"f\",\"type\":\"float\",\"default\":0.0},"
    "{\"name\":\"d\",\"type\":\"double\",\"default\":0.0},"
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"Hash\","
    "\"size\":8},\"default\":\"" FUZZ_FIXED_DEFAULT "\"},"
    "{\"name\":\"af\",\"type\":{\"type\":\"array\",\"items\":\"float\"},"
    "\"default\":[]},"
    "{\"name\":\"ad\",\"type\":{\"type\":\"array\",\"items\":\"double\"},"
    "\"default\":[]},"
    "{\"name\":\"ai\",\"type\":{\"type\":\"array\",\"items\":\"int\"},"
    "\"default\":[]},"
    "{\"name\":\"al\",\"type\":{\"type\":\"array\",\"items\":\"long\"},"
    "\"default\":[]},"
    "{\"name\":\"nd\",\"type\":[\"null\",\"double\"],\"default\":null},"
    "{\"name\":\"nl\",\"type\":[\"null\",\"long\"],\"default\":null},"
    "{\"name\":\"ns\",\"type\":[\"null\",\"string\"],\"default\":null},"
    "{\"name\":\"naf\",\"type\":[\"null\",{\"type\":\"array\","
    "\"items\":\"float\"}],\"default\":null},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\","
    "\"logicalType\":\"timestamp-millis\"},\"default\":0},"
    "{\"name\":\"dt\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"},"
    "\"default\":0},"
    "{\"name\":\"pil\",\"type\":\"long\",\"default\":0},"
    "{\"name\":\"pif\",\"type\":\"float\",\"default\":0.0},"
    "{\"name\":\"pid\",\"type\":\"double\",\"default\":0.0},"
    "{\"name\":\"plf\",\"type\":\"float\",\"default\":0.0},"
    "{\"name\":\"pld\",\"type\":\"double\",\"default\":0.0},"
    "{\"name\":\"pfd\",\"type\":\"double\",\"default\":0.0},"
    "{\"name\":\"tmi\",\"type\":{\"type\":\"int\","
    "\"logicalType\":\"time-millis\"},\"default\":0},"
    "{\"name\":\"tmu\",\"type\":{\"type\":\"long\","
    "\"logicalType\":\"time-micros\"},\"default\":0},"
    "{\"name\":\"tsu\",\"type\":{\"type\":\"long\","
    "\"logicalType\":\"timestamp-micros\"},\"default\":0},"
    "{\"name\":\"lts\",\"type\":{\"type\":\"long\","
    "\"logicalType\":\"local-timestamp-millis\"},\"default\":0},"
    "{\"name\":\"uid\",\"type\":{\"type\":\"string\","
    "\"logicalType\":\"uuid\"},\"default\":\"\"},"
    "{\"name\":\"nb\",\"type\":[\"null\",\"boolean\"],\"default\":null},"
    "{\"name\":\"ni\",\"type\":[\"null\",\"int\"],\"default\":null},"
    "{\"name\":\"nf\",\"type\":[\"null\",\"float\"],\"default\":null},"
    "{\"name\":\"nby\",\"type\":[\"null\",\"bytes\"],\"default\":null},"
    "{\"name\":\"ne\",\"type\":[\"null\",{\"type\":\"enum\",\"name\":\"Color\","
    "\"namespace\":\"fuzz.n\",\"symbols\":[\"RED\",\"GREEN\",\"BLUE\"]}],"
    "\"default\":null},"
    "{\"name\":\"nfx\",\"type\":[\"null\",{\"type\":\"fixed\","
    "\"name\":\"Hash\",\"namespace\":\"fuzz.n\",\"size\":8}],"
    "\"default\":null},"
    "{\"name\":\"nad\",\"type\":[\"null\",{\"type\":\"array\","
    "\"items\":\"double\"}],\"default\":null},"
    "{\"name\":\"nai\",\"type\":[\"null\",{\"type\":\"array\","
    "\"items\":\"int\"}],\"default\":null},"
    "{\"name\":\"nal\",\"type\":[\"null\",{\"type\":\"array\","
    "\"items\":\"long\"}],\"default\":null}"
    "]}";

/* Id 2: every serving field (in reverse order) plus extra fields of every
 * shape between them, which the decoder must skip. */
static const char FUZZ_WRITER_EXTRA[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"x_rec\",\"type\":{\"type\":\"record\",\"name\":\"Inner\","
    "\"fields\":[{\"name\":\"a\",\"type\":\"long\"},"
    "{\"name\":\"b\",\"type\":\"string\"},"
    "{\"name\":\"c\",\"type\":{\"type\":\"array\",\"items\":\"double\"}}]}},"
    "{\"name\":\"pfd\",\"type\":\"double\"},"
    "{\"name\":\"pld\",\"type\":\"double\"},"
    "{\"name\":\"plf\",\"type\":\"float\"},"
    "{\"name\":\"pid\",\"type\":\"double\"},"
    "{\"name\":\"x_map\",\"type\":{\"type\":\"map\",\"values\":\"long\"}},"
    "{\"name\":\"pif\",\"type\":\"float\"},"
    "{\"name\":\"pil\",\"type\":\"long\"},"
    "{\"name\":\"dt\",\"type\":{\"type\":\"int\",\"logicalType\":\"date\"}},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\","
    "\"logicalType\":\"timestamp-millis\"}},"
    "{\"name\":\"x_recs\",\"type\":{\"type\":\"array\",\"items\":"
    "{\"type\":\"record\",\"name\":\"Item\",\"fields\":["
    "{\"name\":\"id\",\"type\":\"int\"},"
    "{\"name\":\"tags\",\"type\":{\"type\":\"map\",\"values\":\"string\"}},"
    "{\"name\":\"w\",\"type\":[\"null\",\"float\"]}]}}},"
    "{\"name\":\"naf\",\"type\":[\"null\",{\"type\":\"array\","
    "\"items\":\"float\"}]},"
    "{\"name\":\"ns\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"nl\",\"type\":[\"null\",\"long\"]},"
    "{\"name\":\"x_union\",\"type\":[\"null\",\"fuzz.Inner\",\"string\","
    "{\"type\":\"map\",\"values\":{\"type\":\"array\",\"items\":\"int\"}}]},"
    "{\"name\":\"nd\",\"type\":[\"null\",\"double\"]},"
    "{\"name\":\"al\",\"type\":{\"type\":\"array\",\"items\":\"long\"}},"
    "{\"name\":\"ai\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
    "{\"name\":\"x_fixed\",\"type\":{\"type\":\"fixed\",\"name\":\"X16\","
    "\"size\":16}},"
    "{\"name\":\"ad\",\"type\":{\"type\":\"array\",\"items\":\"double\"}},"
    "{\"name\":\"af\",\"type\":{\"type\":\"array\",\"items\":\"float\"}},"
    "{\"name\":\"fx\",\"type\":{\"type\":\"fixed\",\"name\":\"Hash\","
    "\"size\":8}},"
    "{\"name\":\"x_enum\",\"type\":{\"type\":\"enum\",\"name\":\"Other\","
    "\"symbols\":[\"P\",\"Q\"]}},"
    "{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"f\",\"type\":\"float\"},"
    "{\"name\":\"l\",\"type\":\"long\"},"
    "{\"name\":\"x_bytes\",\"type\":\"bytes\"},"
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"b\",\"type\":\"boolean\"},"
    "{\"name\":\"x_bool\",\"type\":\"boolean\"},"
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"Color\","
    "\"symbols\":[\"RED\",\"GREEN\",\"BLUE\"]}},"
    "{\"name\":\"by\",\"type\":\"bytes\"},"
    "{\"name\":\"x_null\",\"type\":\"null\"},"
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"e2\",\"type\":\"Color\"}"
    "]}";

/* Id 3: a few fields only; every other serving field takes its default.
 * "af" comes first so seeds can hand-craft array blocks at offset 5. */
static const char FUZZ_WRITER_MISSING[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"af\",\"type\":{\"type\":\"array\",\"items\":\"float\"}},"
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"d\",\"type\":\"double\"},"
    "{\"name\":\"nd\",\"type\":[\"null\",\"double\"]},"
    "{\"name\":\"ts\",\"type\":{\"type\":\"long\","
    "\"logicalType\":\"timestamp-millis\"}}"
    "]}";

/* Id 4: numeric promotions int->long, int->float, int->double, long->float,
 * long->double, float->double, also on the plain l/f/d columns and the
 * nullable ones. */
static const char FUZZ_WRITER_PROMOTE[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"l\",\"type\":\"int\"},"
    "{\"name\":\"f\",\"type\":\"long\"},"
    "{\"name\":\"d\",\"type\":\"float\"},"
    "{\"name\":\"ad\",\"type\":{\"type\":\"array\",\"items\":\"float\"}},"
    "{\"name\":\"al\",\"type\":{\"type\":\"array\",\"items\":\"int\"}},"
    "{\"name\":\"af\",\"type\":{\"type\":\"array\",\"items\":\"long\"}},"
    "{\"name\":\"nd\",\"type\":[\"null\",\"int\"]},"
    "{\"name\":\"nl\",\"type\":[\"null\",\"int\"]},"
    "{\"name\":\"pil\",\"type\":\"int\"},"
    "{\"name\":\"pif\",\"type\":\"int\"},"
    "{\"name\":\"pid\",\"type\":\"int\"},"
    "{\"name\":\"plf\",\"type\":\"long\"},"
    "{\"name\":\"pld\",\"type\":\"long\"},"
    "{\"name\":\"pfd\",\"type\":\"float\"}"
    "]}";

/* Id 5: unions on the writer side where the reader has none (a null
 * written there is a resolve/decode error, never a crash), plain T where the
 * reader has ["null", T], and [T, "null"] branch order. */
static const char FUZZ_WRITER_UNIONS[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"s\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"b\",\"type\":[\"null\",\"boolean\"]},"
    "{\"name\":\"i\",\"type\":[\"null\",\"int\"]},"
    "{\"name\":\"l\",\"type\":[\"null\",\"long\"]},"
    "{\"name\":\"f\",\"type\":[\"null\",\"float\"]},"
    "{\"name\":\"d\",\"type\":[\"double\",\"null\"]},"
    "{\"name\":\"e\",\"type\":[\"null\",{\"type\":\"enum\",\"name\":\"Color\","
    "\"symbols\":[\"RED\",\"GREEN\",\"BLUE\"]}]},"
    "{\"name\":\"af\",\"type\":[\"null\",{\"type\":\"array\","
    "\"items\":\"float\"}]},"
    "{\"name\":\"nd\",\"type\":\"double\"},"
    "{\"name\":\"nl\",\"type\":[\"long\",\"null\"]},"
    "{\"name\":\"ns\",\"type\":\"string\"},"
    "{\"name\":\"naf\",\"type\":{\"type\":\"array\",\"items\":\"float\"}},"
    "{\"name\":\"ts\",\"type\":[\"null\",{\"type\":\"long\","
    "\"logicalType\":\"timestamp-millis\"}]},"
    "{\"name\":\"ni\",\"type\":[\"null\",\"int\",\"string\"]},"
    "{\"name\":\"ne\",\"type\":\"Color\"},"
    "{\"name\":\"nal\",\"type\":[{\"type\":\"array\",\"items\":\"int\"},"
    "\"null\"]}"
    "]}";

/* Id 6: enum symbols reordered and extended (a symbol the reader lacks
 * cannot resolve), string<->bytes swapped (allowed by the Avro spec). */
static const char FUZZ_WRITER_ENUM[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"e\",\"type\":{\"type\":\"enum\",\"name\":\"Color\","
    "\"symbols\":[\"BLUE\",\"PURPLE\",\"RED\",\"GREEN\"]}},"
    "{\"name\":\"s\",\"type\":\"bytes\"},"
    "{\"name\":\"by\",\"type\":\"string\"},"
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"ne\",\"type\":[\"null\",\"Color\"]}"
    "]}";

/* Id 7: incompatible with the serving schema (int column written as
 * string): every record must fail to resolve. */
static const char FUZZ_WRITER_BAD[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"i\",\"type\":\"string\"}"
    "]}";

/* Id 8: the same record name with no fields at all (every column takes its
 * default; the body is empty). */
static const char FUZZ_WRITER_EMPTY[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":[]}";

/* Id 9: extra fields that are hard to skip: a recursive record (a linked
 * list, so AVRO_LINK and the depth limit), arrays and maps of zero-size
 * items (null, empty record, arrays of arrays of null), then two serving
 * fields. */
static const char FUZZ_WRITER_DEEP[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"x_list\",\"type\":{\"type\":\"record\",\"name\":\"Node\","
    "\"fields\":[{\"name\":\"v\",\"type\":\"int\"},"
    "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}},"
    "{\"name\":\"x_nulls\",\"type\":{\"type\":\"array\",\"items\":\"null\"}},"
    "{\"name\":\"x_nullmap\",\"type\":{\"type\":\"map\",\"values\":\"null\"}},"
    "{\"name\":\"x_empties\",\"type\":{\"type\":\"array\",\"items\":"
    "{\"type\":\"record\",\"name\":\"Empty\",\"fields\":[]}}},"
    "{\"name\":\"x_tree\",\"type\":{\"type\":\"array\",\"items\":"
    "{\"type\":\"map\",\"values\":[\"null\",\"Node\"]}}},"
    "{\"name\":\"x_nested_nulls\",\"type\":{\"type\":\"array\",\"items\":"
    "{\"type\":\"array\",\"items\":\"null\"}}},"
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"s\",\"type\":\"string\"}"
    "]}";

/* Id 10: schemas avro-c accepts although the Avro spec does not: a
 * duplicate field name, a union of two nulls, nested unions, a zero-size
 * fixed and an array of it. Registries may hold such schemas; records using
 * them must fail or decode, never crash. */
static const char FUZZ_WRITER_ODD[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"s\",\"type\":\"string\"},"
    "{\"name\":\"x_nn\",\"type\":[\"null\",\"null\"]},"
    "{\"name\":\"s\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"x_nested\",\"type\":[\"int\",[\"null\",\"int\"]]},"
    "{\"name\":\"i\",\"type\":[\"int\",[\"null\",\"int\"]]},"
    "{\"name\":\"x_fz\",\"type\":{\"type\":\"fixed\",\"name\":\"Z0\","
    "\"size\":0}},"
    "{\"name\":\"x_fzs\",\"type\":{\"type\":\"array\",\"items\":\"Z0\"}},"
    "{\"name\":\"ns\",\"type\":[\"null\",\"string\"]},"
    "{\"name\":\"ns\",\"type\":\"string\"}"
    "]}";

/* Id 11: fixed sizes avro-c accepts but no input can hold. */
static const char FUZZ_WRITER_BIGFIXED[] =
    "{\"type\":\"record\",\"name\":\"Features\",\"namespace\":\"fuzz\","
    "\"fields\":["
    "{\"name\":\"i\",\"type\":\"int\"},"
    "{\"name\":\"x_fneg\",\"type\":[\"null\",{\"type\":\"fixed\","
    "\"name\":\"Neg\",\"size\":-1}]},"
    "{\"name\":\"x_fbig\",\"type\":[\"null\",{\"type\":\"fixed\","
    "\"name\":\"Big\",\"size\":4000000000}]}"
    "]}";

/* Id 12: a writer schema that is not a record at all. */
static const char FUZZ_WRITER_NOT_RECORD[] = "\"string\"";

/* Writer schemas by Schema Registry id; id 1 is the serving schema. */
static const char *const FUZZ_WRITERS[] = {
    NULL,
    FUZZ_SERVING_SCHEMA,
    FUZZ_WRITER_EXTRA,
    FUZZ_WRITER_MISSING,
    FUZZ_WRITER_PROMOTE,
    FUZZ_WRITER_UNIONS,
    FUZZ_WRITER_ENUM,
    FUZZ_WRITER_BAD,
    FUZZ_WRITER_EMPTY,
    FUZZ_WRITER_DEEP,
    FUZZ_WRITER_ODD,
    FUZZ_WRITER_BIGFIXED,
    FUZZ_WRITER_NOT_RECORD,
};
#define FUZZ_NWRITERS ((int)(sizeof(FUZZ_WRITERS) / sizeof(FUZZ_WRITERS[0])))

/*
 * Input modes of the fuzz target, chosen by the first byte: these three
 * bytes select a raw-Avro table (the rest of the input is the Avro body);
 * any other first byte means the whole input is a Confluent-framed value
 * for the Confluent table (so bad magic bytes are fuzzed too).
 */
#define FUZZ_MODE_RAW_SERVING 0xA0 /* raw table, writer = serving schema */
#define FUZZ_MODE_RAW_EXTRA 0xA1   /* raw table, writer = id 2 */
#define FUZZ_MODE_RAW_PROMOTE 0xA2 /* raw table, writer = id 4 */

#endif /* FSTORE_FUZZ_SCHEMAS_H */
