/*
 * librdkafka configuration from fstore's properties, for every client the
 * library makes (the tailer's, the aggregator's): fstore's own settings
 * (the table in conf.c, docs/configuration.md) and the kafka.*
 * pass-through. Knows librdkafka's configuration, nothing else of Kafka.
 */
#ifndef FSTORE_KCONF_H
#define FSTORE_KCONF_H

#include <librdkafka/rdkafka.h>

#include "conf.h"

/* Sets the entries of fstore's librdkafka table for client (FS_K_CONSUMER
 * or FS_K_PRODUCER) that are forced (forced 1) or defaults (forced 0).
 * Defaults go first, then fs_kafka_user, then the forced ones. */
void fs_kafka_set(rd_kafka_conf_t *rc, unsigned client, int forced);

/* Passes every kafka.* property of conf to rc without its prefix.
 * FSTORE_ERR_CONF naming the property librdkafka refuses. */
fstore_err_t fs_kafka_user(const fstore_conf_t *conf, rd_kafka_conf_t *rc,
                           char *errstr, size_t errstr_size);

/* Creates the client from rc (consumed, success or not), after checking
 * that kafka.bootstrap.servers was set (what says why it is needed, as
 * in "to tail"). NULL with *err and errstr when it cannot. */
rd_kafka_t *fs_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *rc,
                         const char *what, char *errstr, size_t errstr_size,
                         fstore_err_t *err);

#endif
