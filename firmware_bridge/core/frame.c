#include "frame.h"

#include <math.h>
#include <string.h>

#include "crc16.h"
#include "fnv1a.h"

/* The SAMPLE encoding copies a float's bits into a uint32_t: both must be 32 bits. */
typedef char frame_float_is_32_bits[(sizeof(float) == sizeof(uint32_t)) ? 1 : -1];

#define QUIET_NAN_BITS 0x7FC00000ul

/* Header, body and CRC go through the CRC and the COBS encoder together. */
struct frame_out {
    struct cobs_encoder cobs;
    uint16_t crc;
};

static void out_bytes(struct frame_out *o, const uint8_t *data, size_t len)
{
    o->crc = crc16_update_buf(o->crc, data, len);
    cobs_encoder_write(&o->cobs, data, len);
}

size_t frame_build(uint8_t type, uint16_t seq, uint32_t ts_ms, const uint8_t *body, size_t body_len,
                   uint8_t *wire, size_t wire_cap)
{
    struct frame_out o;
    uint8_t header[FRAME_HEADER_LEN];
    uint8_t crc[FRAME_CRC_LEN];
    size_t n;

    if (body_len > FRAME_MAX_BODY || (body == NULL && body_len > 0u) || wire_cap < 1u) {
        return 0;
    }
    header[0] = type;
    header[1] = (uint8_t)FRAME_VERSION;
    frame_put_le16(&header[2], seq);
    frame_put_le32(&header[4], ts_ms);

    cobs_encoder_init(&o.cobs, wire, wire_cap - 1u); /* keep one byte for the delimiter */
    o.crc = CRC16_INIT;
    out_bytes(&o, header, sizeof header);
    if (body_len > 0u) {
        out_bytes(&o, body, body_len);
    }
    frame_put_le16(crc, o.crc);
    cobs_encoder_write(&o.cobs, crc, sizeof crc);
    n = cobs_encoder_finish(&o.cobs);
    if (n == 0u) {
        return 0;
    }
    wire[n] = 0x00;
    return n + 1u;
}

static int known_type(uint8_t type)
{
    return type == FRAME_HELLO || type == FRAME_SAMPLE || type == FRAME_FAULT || type == FRAME_HELLO_REQUEST;
}

int frame_parse(const uint8_t *wire, size_t len, struct frame *out, uint8_t *scratch, size_t scratch_cap)
{
    size_t n = 0;
    size_t cap = scratch_cap < FRAME_MAX_LEN ? scratch_cap : FRAME_MAX_LEN;
    size_t body_len;
    int rc;

    if (len > 0u && wire[len - 1u] == 0x00u) {
        len--; /* the delimiter */
    }
    rc = cobs_decode(wire, len, scratch, cap, &n);
    if (rc == COBS_ERR_MALFORMED) {
        return FRAME_ERR_COBS;
    }
    if (n < FRAME_MIN_LEN) {
        return FRAME_ERR_SHORT;
    }
    if (n > FRAME_MAX_LEN) {
        return FRAME_ERR_OVERSIZE;
    }
    if (rc != COBS_OK) {
        return FRAME_ERR_NOSPACE;
    }
    body_len = n - FRAME_MIN_LEN;
    if (crc16(scratch, n - FRAME_CRC_LEN) != frame_get_le16(&scratch[n - FRAME_CRC_LEN])) {
        return FRAME_ERR_CRC;
    }
    if (scratch[1] != FRAME_VERSION) {
        return FRAME_ERR_VERSION;
    }
    if (!known_type(scratch[0])) {
        return FRAME_ERR_UNKNOWN_TYPE;
    }
    out->type = scratch[0];
    out->version = scratch[1];
    out->seq = frame_get_le16(&scratch[2]);
    out->ts_ms = frame_get_le32(&scratch[4]);
    out->body = &scratch[FRAME_HEADER_LEN];
    out->body_len = body_len;
    return FRAME_OK;
}

uint32_t frame_schema_hash(uint32_t period_ms, const struct frame_channel *channels, uint8_t channel_count)
{
    static const uint8_t zero = 0;
    uint8_t period[4];
    uint32_t hash;
    uint8_t i;

    frame_put_le32(period, period_ms);
    hash = fnv1a32(period, sizeof period);
    for (i = 0; i < channel_count; i++) {
        const char *name = channels[i].name ? channels[i].name : "";
        const char *unit = channels[i].unit ? channels[i].unit : "";
        hash = fnv1a32_update(hash, (const uint8_t *)name, strlen(name));
        hash = fnv1a32_update(hash, &zero, 1);
        hash = fnv1a32_update(hash, (const uint8_t *)unit, strlen(unit));
        hash = fnv1a32_update(hash, &zero, 1);
    }
    return hash;
}

/* Bounded writer for the body builders: once something does not fit, everything fails. */
struct writer {
    uint8_t *p;
    size_t cap;
    size_t len;
    uint8_t bad;
};

static void writer_init(struct writer *w, uint8_t *body, size_t cap)
{
    w->p = body;
    w->cap = cap < FRAME_MAX_BODY ? cap : FRAME_MAX_BODY;
    w->len = 0;
    w->bad = (uint8_t)(body == NULL);
}

static uint8_t *writer_take(struct writer *w, size_t n)
{
    uint8_t *at;
    if (w->bad || n > w->cap - w->len) {
        w->bad = 1;
        return NULL;
    }
    at = &w->p[w->len];
    w->len += n;
    return at;
}

static void put_u8(struct writer *w, uint8_t v)
{
    uint8_t *at = writer_take(w, 1);
    if (at) {
        *at = v;
    }
}

static void put_u16(struct writer *w, uint16_t v)
{
    uint8_t *at = writer_take(w, 2);
    if (at) {
        frame_put_le16(at, v);
    }
}

static void put_u32(struct writer *w, uint32_t v)
{
    uint8_t *at = writer_take(w, 4);
    if (at) {
        frame_put_le32(at, v);
    }
}

static void put_text(struct writer *w, const char *text)
{
    size_t n = text ? strlen(text) : 0u;
    uint8_t *at;
    if (n > FRAME_TEXT_MAX) {
        w->bad = 1;
        return;
    }
    at = writer_take(w, 1u + n);
    if (at) {
        at[0] = (uint8_t)n;
        if (n > 0u) {
            memcpy(&at[1], text, n);
        }
    }
}

static size_t writer_done(const struct writer *w)
{
    return w->bad ? 0u : w->len;
}

size_t frame_body_hello(const struct frame_hello *hello, uint8_t *body, size_t cap)
{
    struct writer w;
    uint8_t i;

    writer_init(&w, body, cap);
    if (hello->channels == NULL && hello->channel_count > 0u) {
        return 0;
    }
    put_u8(&w, hello->fw_major);
    put_u8(&w, hello->fw_minor);
    put_u8(&w, hello->fw_patch);
    put_text(&w, hello->device_id);
    put_u32(&w, hello->period_ms);
    put_u8(&w, hello->channel_count);
    for (i = 0; i < hello->channel_count; i++) {
        put_text(&w, hello->channels[i].name);
        put_text(&w, hello->channels[i].unit);
    }
    put_u32(&w, frame_schema_hash(hello->period_ms, hello->channels, hello->channel_count));
    return writer_done(&w);
}

size_t frame_body_sample(const float *values, size_t count, uint8_t *body, size_t cap)
{
    struct writer w;
    size_t i;

    writer_init(&w, body, cap);
    for (i = 0; i < count; i++) {
        uint32_t bits;
        if (isnan(values[i])) {
            bits = (uint32_t)QUIET_NAN_BITS; /* one NaN on the wire, whatever its sign or payload */
        } else {
            memcpy(&bits, &values[i], sizeof bits);
        }
        put_u32(&w, bits);
    }
    return writer_done(&w);
}

size_t frame_body_fault(uint8_t channel, uint16_t code, const char *message, uint8_t *body, size_t cap)
{
    struct writer w;

    writer_init(&w, body, cap);
    put_u8(&w, channel);
    put_u16(&w, code);
    put_text(&w, message);
    return writer_done(&w);
}

void frame_rx_init(struct frame_rx *rx, uint8_t *buf, size_t cap)
{
    rx->buf = buf;
    rx->cap = cap;
    rx->len = 0;
    rx->frame_len = 0;
    rx->discarding = 0;
}

int frame_rx_push(struct frame_rx *rx, uint8_t byte)
{
    if (byte == 0x00u) {
        if (rx->discarding) {
            rx->discarding = 0;
            rx->len = 0;
            return FRAME_ERR_OVERSIZE;
        }
        if (rx->len == 0u) {
            return FRAME_RX_NONE; /* an empty frame: ignored */
        }
        rx->frame_len = rx->len;
        rx->len = 0;
        return FRAME_RX_READY;
    }
    if (rx->discarding) {
        return FRAME_RX_NONE;
    }
    if (rx->len >= rx->cap) {
        rx->discarding = 1; /* too long: drop everything up to the next 0x00 */
        return FRAME_RX_NONE;
    }
    rx->buf[rx->len++] = byte;
    return FRAME_RX_NONE;
}
