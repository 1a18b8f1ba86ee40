/* librdkafka configuration from fstore's properties (kconf.h). */
#include "kconf.h"

struct fs_pass {
    rd_kafka_conf_t *rc;
    char *errstr;
    size_t errstr_size;
    fstore_err_t err;
};

static void fs_pass_one(const char *name, const char *value, void *arg)
{
    struct fs_pass *p = arg;
    char buf[512];
    if (p->err)
        return;
    if (rd_kafka_conf_set(p->rc, name + 6, value, buf, sizeof buf) != RD_KAFKA_CONF_OK)
        p->err = fstore__err(p->errstr, p->errstr_size, FSTORE_ERR_CONF,
                             "%s: %s", name, buf);
}

/* Applies the entries of fstore's librdkafka table for this client that
 * are (forced) or are not (!forced) forced. */
void fs_kafka_set(rd_kafka_conf_t *rc, unsigned client, int forced)
{
    size_t n;
    const fs_kdef *k = fs_conf_kafka_defaults(&n);
    for (size_t i = 0; i < n; i++)
        if ((k[i].clients & client) && k[i].forced == forced)
            rd_kafka_conf_set(rc, k[i].name, k[i].value, NULL, 0);
}

fstore_err_t fs_kafka_user(const fstore_conf_t *conf, rd_kafka_conf_t *rc,
                           char *errstr, size_t errstr_size)
{
    struct fs_pass pass = {rc, errstr, errstr_size, FSTORE_OK};
    fs_conf_each(conf, "kafka.", fs_pass_one, &pass);
    return pass.err;
}

rd_kafka_t *fs_kafka_new(rd_kafka_type_t type, rd_kafka_conf_t *rc,
                         const char *what, char *errstr, size_t errstr_size,
                         fstore_err_t *err)
{
    char buf[512];
    size_t n = sizeof buf;
    if (rd_kafka_conf_get(rc, "bootstrap.servers", buf, &n) != RD_KAFKA_CONF_OK ||
        !buf[0]) {
        rd_kafka_conf_destroy(rc);
        *err = fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                           "set kafka.bootstrap.servers %s (e.g. 127.0.0.1:9092)",
                           what);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(type, rc, buf, sizeof buf);
    if (!rk) {
        rd_kafka_conf_destroy(rc);
        *err = fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                           "cannot create the Kafka client: %s", buf);
    }
    return rk;
}
