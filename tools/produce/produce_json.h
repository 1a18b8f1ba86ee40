/*
 * JSON → Avro for `fstore produce`: sets an avro-c generic value from a JSON
 * value in the plain form people write (a union takes null or a value of one
 * of its types, not Avro's {"type": value} wrapping), checked against the
 * schema with messages that name the field.
 */
#ifndef FSTORE_TOOLS_PRODUCE_JSON_H
#define FSTORE_TOOLS_PRODUCE_JSON_H

#include <stddef.h>

#include <avro.h>
#include <jansson.h>

/**
 * Sets @p out, a generic value of record schema @p schema, from JSON object
 * @p json. Mapping: null, booleans, integers (int within 32 bits), numbers
 * (float, double; also "NaN", "Infinity", "-Infinity"), strings (string;
 * enum symbol; bytes and fixed as in Avro's JSON encoding, one code point
 * U+0000..U+00FF per byte), arrays, objects (map, record). Logical types
 * take their base type's form. A missing top-level field takes its
 * "default" from @p fields, the schema's "fields" array as JSON (may be
 * NULL); other missing fields and unknown fields are errors.
 * @return 0, or -1 with a message naming the field in @p err.
 */
int produce_json_to_avro(avro_value_t *out, avro_schema_t schema, json_t *json,
                         json_t *fields, char *err, size_t err_size);

#endif
