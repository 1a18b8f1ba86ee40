/* The pipeline demo's model; see pipe_model.h. */
#include "pipe_model.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int pipe_model_parse(pipe_model *m, const char *json, char *errstr, size_t size)
{
    memset(m, 0, sizeof *m);
    json_error_t jerr;
    json_t *root = json_loads(json, 0, &jerr);
    if (!root) {
        snprintf(errstr, size, "the model is not JSON: %s (line %d)", jerr.text, jerr.line);
        return -1;
    }
    int rc = -1;
    json_t *bias = json_object_get(root, "bias");
    json_t *w = json_object_get(root, "weights");
    if (!json_is_number(bias) || !json_is_object(w) || !json_object_size(w)) {
        snprintf(errstr, size, "the model needs a number \"bias\" and an object "
                               "\"weights\" of column: weight");
        goto out;
    }
    m->bias = json_number_value(bias);
    const char *name;
    json_t *v;
    json_object_foreach(w, name, v)
    {
        if (!json_is_number(v)) {
            snprintf(errstr, size, "the model's weight of %s is not a number", name);
            goto out;
        }
        if (m->n == PIPE_MODEL_MAX) {
            snprintf(errstr, size, "the model has more than %d weights", PIPE_MODEL_MAX);
            goto out;
        }
        if (!(m->names[m->n] = strdup(name))) {
            snprintf(errstr, size, "out of memory");
            goto out;
        }
        m->w[m->n++] = json_number_value(v);
    }
    rc = 0;
out:
    json_decref(root);
    if (rc)
        pipe_model_free(m);
    return rc;
}

int pipe_model_bind(pipe_model *m, const fstore_table_t *table, char *errstr, size_t size)
{
    for (int i = 0; i < m->n; i++) {
        int c = fstore_table_column_index(table, m->names[i]);
        if (c < 0) {
            snprintf(errstr, size, "the model's feature %s is not a column of the "
                                   "feature table", m->names[i]);
            return -1;
        }
        m->cols[i] = c;
    }
    return 0;
}

double pipe_model_score(const pipe_model *m, const float *x)
{
    double z = m->bias;
    for (int i = 0; i < m->n; i++)
        if (!isnan(x[i]))
            z += m->w[i] * (double)x[i];
    return 1.0 / (1.0 + exp(-z));
}

void pipe_model_free(pipe_model *m)
{
    for (int i = 0; i < m->n; i++)
        free(m->names[i]);
    m->n = 0;
}
