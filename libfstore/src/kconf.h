/*
 * librdkafka configuration from fstore's properties, for every client the
 * library makes (the tailer's, the aggregator's): fstore's own settings
 * (the table in conf.c, docs/configuration.md) and the kafka.*
 * pass-through, with secrets kept out of messages, and the first
 * connection of a client that must authenticate (a refused login or
 * certificate fails its creation). Knows librdkafka's configuration and
 * its connection errors, nothing else of Kafka.
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
 * in "to tail"). NULL with *err and errstr when it cannot.
 * A client that connects with TLS or SASL (security.protocol other than
 * plaintext) waits for its first broker answer, up to 10 s, on the
 * calling thread: an authentication or TLS handshake failure is
 * FSTORE_ERR_KAFKA naming its cause. An unreachable or silent broker is
 * not a failure here: the client retries it as usual. Such failures after
 * this first answer are left to librdkafka, which retries them. Messages
 * never show a secret property's value.
 * @thread the caller's; it reads rk's main queue, which it must not serve
 *         concurrently (nothing has rk before this returns). */
rd_kafka_t *fs_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *rc,
                         const char *what, char *errstr, size_t errstr_size,
                         fstore_err_t *err);

/* Whether property name (with or without the kafka. prefix) holds a
 * secret: a password, a key, a token (librdkafka's sensitive properties
 * that are not paths or names, and any name with "password" or "secret"
 * in it). Messages never show such values. */
int fs_kafka_secret(const char *name);

/* Replaces in msg (NUL-terminated, in a buffer of size bytes) every
 * occurrence of the value of a secret kafka.* property of conf with
 * "[redacted]": for messages that may quote configuration, such as
 * librdkafka's refusals and log lines. */
void fs_kafka_redact(const fstore_conf_t *conf, char *msg, size_t size);

#endif
