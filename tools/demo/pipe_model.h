/*
 * The model of the pipeline demo: a logistic regression over window
 * features, read from a JSON file ({"bias": b, "weights": {"column": w}}),
 * scoring rows of the float matrix fstore_get_batch() fills: score =
 * 1 / (1 + exp(-(b + sum of w * x))), a null (NaN) feature counting as 0.
 */
#ifndef FSTORE_TOOLS_PIPE_MODEL_H
#define FSTORE_TOOLS_PIPE_MODEL_H

#include <stddef.h>

#include "fstore/fstore.h"

#define PIPE_MODEL_MAX 64 /* features */

typedef struct pipe_model {
    double bias;
    int n;
    char *names[PIPE_MODEL_MAX];
    double w[PIPE_MODEL_MAX];
    int cols[PIPE_MODEL_MAX]; /* the table's column of each feature */
} pipe_model;

/** Reads the model from JSON text. @return 0, or -1 with a message. */
int pipe_model_parse(pipe_model *m, const char *json, char *errstr, size_t size);

/** Finds each feature's numeric column in @p table.
 * @return 0, or -1 naming a feature the table lacks or cannot give. */
int pipe_model_bind(pipe_model *m, const fstore_table_t *table, char *errstr,
                    size_t size);

/** The score of one row of features, in the order of m->cols. */
double pipe_model_score(const pipe_model *m, const float *x);

void pipe_model_free(pipe_model *m);

#endif
