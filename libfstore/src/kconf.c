/* librdkafka configuration from fstore's properties (kconf.h). */
#include "kconf.h"

#include <time.h>

/* How long a client that must authenticate waits for its first broker
 * answer before going on regardless (kconf.h, fs_kafka_new). An
 * authentication or certificate failure shows within a handshake, well
 * inside it; only a broker that neither answers nor refuses uses it up. */
#define FS_KAFKA_CHECK_MS 10000
/* One metadata request's wait in that check: between two, the check reads
 * the errors the client reported meanwhile. */
#define FS_KAFKA_CHECK_STEP_MS 250

int fs_kafka_secret(const char *name)
{
    /* librdkafka's own sensitive properties (the ones its debug dump
     * redacts) that hold a secret rather than a path or a name, and any
     * other property named as a password or a secret. */
    static const char *const exact[] = {"ssl.key.pem", "sasl.oauthbearer.config",
                                        "ssl_key", NULL};
    if (!strncmp(name, "kafka.", 6))
        name += 6;
    for (const char *const *p = exact; *p; p++)
        if (!strcmp(name, *p))
            return 1;
    return strstr(name, "password") || strstr(name, "secret");
}

/* Replaces every occurrence of value in msg with "[redacted]". When msg
 * would outgrow size, it ends at the mark: a tail cut to fit could end in
 * the first characters of another occurrence. */
static void fs_redact(char *msg, size_t size, const char *value)
{
    static const char mark[] = "[redacted]";
    size_t vlen = strlen(value), mlen = sizeof mark - 1;
    char *at, *from = msg;
    if (!vlen || !size)
        return;
    while ((at = strstr(from, value))) {
        size_t head = (size_t)(at - msg), tail = strlen(at + vlen);
        if (head + mlen >= size) {
            msg[head] = 0; /* no room for the mark: cut the secret off */
            return;
        }
        if (head + mlen + tail >= size)
            tail = 0;
        memmove(at + mlen, at + vlen, tail);
        memcpy(at, mark, mlen);
        at[mlen + tail] = 0;
        from = at + mlen; /* on after the mark, which may hold value */
    }
}

/* Redacts from msg the value of every secret property set in rc. */
static void fs_redact_rc(rd_kafka_conf_t *rc, char *msg, size_t size)
{
    size_t n;
    const char **dump = rd_kafka_conf_dump(rc, &n);
    for (size_t i = 0; dump && i + 1 < n; i += 2)
        if (fs_kafka_secret(dump[i]) && dump[i + 1])
            fs_redact(msg, size, dump[i + 1]);
    if (dump)
        rd_kafka_conf_dump_free(dump, n);
}

struct fs_redacting {
    char *msg;
    size_t size;
};

static void fs_redact_one(const char *name, const char *value, void *arg)
{
    struct fs_redacting *r = arg;
    if (fs_kafka_secret(name))
        fs_redact(r->msg, r->size, value);
}

void fs_kafka_redact(const fstore_conf_t *conf, char *msg, size_t size)
{
    struct fs_redacting r = {msg, size};
    if (msg)
        fs_conf_each(conf, "kafka.", fs_redact_one, &r);
}

struct fs_pass {
    const fstore_conf_t *conf;
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
    if (rd_kafka_conf_set(p->rc, name + 6, value, buf, sizeof buf) == RD_KAFKA_CONF_OK)
        return;
    /* librdkafka quotes a refused value in its message: a secret's, or a
     * secret given to the wrong property. */
    fs_kafka_redact(p->conf, buf, sizeof buf);
    p->err = fstore__err(p->errstr, p->errstr_size, FSTORE_ERR_CONF, "%s: %s", name, buf);
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
    struct fs_pass pass = {conf, rc, errstr, errstr_size, FSTORE_OK};
    fs_conf_each(conf, "kafka.", fs_pass_one, &pass);
    return pass.err;
}

/* Errors no retry can mend: the broker refused the credentials or the
 * mechanism, or the TLS handshake failed (an untrusted or unverifiable
 * certificate, no common protocol). librdkafka itself retries them
 * forever. A connection lost in the middle of a handshake is a transport
 * error, not one of these. */
static int fs_kafka_auth_error(rd_kafka_resp_err_t e)
{
    return e == RD_KAFKA_RESP_ERR__AUTHENTICATION || e == RD_KAFKA_RESP_ERR__SSL ||
           e == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED ||
           e == RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM ||
           e == RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE;
}

/* A TLS handshake that fails within librdkafka's first SSL_connect() call
 * (the broker's answer was already there) comes as a transport error that
 * carries OpenSSL's reason; the same failure seen later in the handshake
 * is RD_KAFKA_RESP_ERR__SSL. Only reasons that no retry can mend count:
 * an unverifiable certificate, a plaintext listener, the broker's alert. */
static int fs_kafka_tls_error(rd_kafka_resp_err_t e, const char *msg)
{
    return e == RD_KAFKA_RESP_ERR__TRANSPORT && msg && strstr(msg, "SSL routines") &&
           (strstr(msg, "certificate verify failed") ||
            strstr(msg, "wrong version number") || strstr(msg, "alert"));
}

static int64_t fs_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether rk connects with TLS or SASL (security.protocol other than
 * plaintext). */
static int fs_kafka_secured(rd_kafka_t *rk)
{
    char proto[64];
    size_t n = sizeof proto;
    if (rd_kafka_conf_get(rd_kafka_conf(rk), "security.protocol", proto, &n) !=
        RD_KAFKA_CONF_OK)
        return 0;
    return strcmp(proto, "plaintext") != 0;
}

/* Reads the errors rk has reported so far (its main queue, which nothing
 * else serves before the client is handed over): the first authentication
 * or TLS failure into errstr, *down when every broker is down. */
static fstore_err_t fs_kafka_drain(rd_kafka_queue_t *q, int *down, char *errstr,
                                   size_t errstr_size)
{
    fstore_err_t err = FSTORE_OK;
    rd_kafka_event_t *ev;
    while ((ev = rd_kafka_queue_poll(q, 0))) {
        rd_kafka_resp_err_t e = rd_kafka_event_type(ev) == RD_KAFKA_EVENT_ERROR
                                    ? rd_kafka_event_error(ev)
                                    : RD_KAFKA_RESP_ERR_NO_ERROR;
        const char *msg = e ? rd_kafka_event_error_string(ev) : NULL;
        int tls = e == RD_KAFKA_RESP_ERR__SSL || fs_kafka_tls_error(e, msg);
        if (!err && (tls || fs_kafka_auth_error(e)))
            err = fstore__err(errstr, errstr_size, FSTORE_ERR_KAFKA, "%s: %s; check %s",
                              tls ? "TLS handshake with the broker failed"
                                  : "Kafka authentication failed",
                              msg,
                              tls ? "ssl.ca.location and the broker's certificate"
                                  : "sasl.mechanisms, sasl.username and sasl.password");
        else if (e == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN)
            *down = 1;
        rd_kafka_event_destroy(ev);
    }
    return err;
}

/* A client that must authenticate waits here for its first broker answer:
 * a refused login or certificate fails at once, with librdkafka's reason,
 * instead of being retried forever behind a caller that waits for data.
 * An unreachable broker is not a failure (the client retries it as
 * usual), nor is a broker that stays silent past FS_KAFKA_CHECK_MS. */
static fstore_err_t fs_kafka_check(rd_kafka_t *rk, char *errstr, size_t errstr_size)
{
    rd_kafka_queue_t *q = rd_kafka_queue_get_main(rk);
    int64_t deadline = fs_mono_ms() + FS_KAFKA_CHECK_MS;
    fstore_err_t err = FSTORE_OK;
    for (;;) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t me = rd_kafka_metadata(rk, 0, NULL, &md, FS_KAFKA_CHECK_STEP_MS);
        if (md)
            rd_kafka_metadata_destroy(md);
        int down = 0;
        if ((err = fs_kafka_drain(q, &down, errstr, errstr_size)) || !me || down ||
            fs_mono_ms() >= deadline)
            break;
    }
    rd_kafka_queue_destroy(q);
    return err;
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
    /* Secrets to keep out of the messages below (rd_kafka_new consumes rc
     * even when it fails). */
    rd_kafka_conf_t *secrets = rd_kafka_conf_dup(rc);
    rd_kafka_t *rk = rd_kafka_new(type, rc, buf, sizeof buf);
    if (!rk) {
        rd_kafka_conf_destroy(rc);
        fs_redact_rc(secrets, buf, sizeof buf);
        *err = fstore__err(errstr, errstr_size, FSTORE_ERR_CONF,
                           "cannot create the Kafka client: %s", buf);
    } else if (fs_kafka_secured(rk) &&
               (*err = fs_kafka_check(rk, errstr, errstr_size))) {
        if (errstr)
            fs_redact_rc(secrets, errstr, errstr_size);
        rd_kafka_destroy(rk);
        rk = NULL;
    }
    rd_kafka_conf_destroy(secrets);
    return rk;
}
