/*
 * Frames of the firmware bridge protocol, version 1 (firmware_bridge/PROTOCOL.md).
 *
 *     type u8 | version u8 | sequence u16 | timestamp_ms u32 | body | crc u16     (little-endian)
 *     wire = COBS(frame) 0x00
 *
 * The CRC is CRC-16/CCITT-FALSE of everything before it. Builders write into caller buffers and
 * return a length, 0 when something does not fit; no allocation, no stdio.
 */
#ifndef EDGE_FRAME_H
#define EDGE_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "cobs.h"

#ifdef __cplusplus
extern "C" {
#endif

#define FRAME_VERSION 1u
#define FRAME_HEADER_LEN 8u
#define FRAME_CRC_LEN 2u
#define FRAME_MIN_LEN (FRAME_HEADER_LEN + FRAME_CRC_LEN)                  /* 10 */
#define FRAME_MAX_LEN 512u                                                /* before COBS */
#define FRAME_MAX_BODY (FRAME_MAX_LEN - FRAME_MIN_LEN)                    /* 502 */
#define FRAME_MAX_ENCODED COBS_MAX_ENCODED(FRAME_MAX_LEN)                 /* 515 */
#define FRAME_MAX_WIRE (FRAME_MAX_ENCODED + 1u)                           /* 516, with 0x00 */
#define FRAME_TEXT_MAX 32u                                                /* bytes of a text */
/* Wire buffer (delimiter included) that fits any frame with a body of up to body_len bytes. */
#define FRAME_WIRE_SIZE(body_len) (COBS_MAX_ENCODED((body_len) + FRAME_MIN_LEN) + 1u)

enum frame_type {
    FRAME_HELLO = 0x01,         /* device -> gateway: identity and schema */
    FRAME_SAMPLE = 0x02,        /* device -> gateway: one float32 per channel */
    FRAME_FAULT = 0x03,         /* device -> gateway: a sensor error */
    FRAME_HELLO_REQUEST = 0x10  /* gateway -> device: empty, answered with HELLO */
};

/* FAULT codes; other values are firmware-specific. */
enum frame_fault_code {
    FRAME_FAULT_NOT_RESPONDING = 1,
    FRAME_FAULT_OUT_OF_RANGE = 2,
    FRAME_FAULT_BUS_ERROR = 3,
    FRAME_FAULT_POWER = 4
};
#define FRAME_FAULT_DEVICE 0xFFu /* FAULT channel meaning "the whole device" */

/* What frame_parse and frame_rx_push return; the names are the receiver's counters. */
enum frame_status {
    FRAME_OK = 0,
    FRAME_ERR_COBS = -1,         /* not a valid COBS encoding */
    FRAME_ERR_SHORT = -2,        /* fewer than 10 bytes after COBS */
    FRAME_ERR_OVERSIZE = -3,     /* more than 512 bytes after COBS (frame_rx: more than its buffer) */
    FRAME_ERR_CRC = -4,          /* CRC mismatch */
    FRAME_ERR_VERSION = -5,      /* version != 1 */
    FRAME_ERR_UNKNOWN_TYPE = -6, /* not one of enum frame_type */
    FRAME_ERR_NOSPACE = -7       /* a well-sized frame, but scratch_cap is too small for it */
};

/* A decoded frame; body points into the scratch buffer given to frame_parse. */
struct frame {
    uint8_t type;
    uint8_t version;
    uint16_t seq;
    uint32_t ts_ms;
    const uint8_t *body;
    size_t body_len;
};

struct frame_channel {
    const char *name; /* UTF-8, at most 32 bytes */
    const char *unit; /* UTF-8, at most 32 bytes */
};

struct frame_hello {
    uint8_t fw_major, fw_minor, fw_patch;
    const char *device_id;
    uint32_t period_ms;
    const struct frame_channel *channels;
    uint8_t channel_count;
};

/* Little-endian helpers, independent of the host's byte order. */
static inline void frame_put_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)(v >> 8);
}

static inline void frame_put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)(v >> 24);
}

static inline uint16_t frame_get_le16(const uint8_t *p)
{
    return (uint16_t)((uint16_t)p[0] | (uint16_t)((uint16_t)p[1] << 8));
}

static inline uint32_t frame_get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/*
 * Build a whole frame on the wire: COBS(header, body, CRC) followed by 0x00, version 1.
 * Returns the wire length (delimiter included), or 0 if body_len exceeds FRAME_MAX_BODY or the
 * wire does not fit in wire_cap (FRAME_WIRE_SIZE(body_len) always fits). body and wire must not
 * overlap; body may be NULL when body_len is 0. The frame is encoded as it is produced, so no
 * second buffer is needed.
 */
size_t frame_build(uint8_t type, uint16_t seq, uint32_t ts_ms, const uint8_t *body, size_t body_len,
                   uint8_t *wire, size_t wire_cap);

/*
 * Decode one frame: wire is its COBS encoding, with or without the final 0x00. The decoded bytes
 * go to scratch (FRAME_MAX_LEN bytes take any frame); scratch may be the very buffer wire points
 * to (decoding in place). Checks, in this order: cobs, short, oversize, (nospace), crc, version,
 * unknown_type. Does not check that the body fits its type (the receiver's "malformed").
 * Returns FRAME_OK and fills *out, or a negative enum frame_status.
 */
int frame_parse(const uint8_t *wire, size_t len, struct frame *out, uint8_t *scratch, size_t scratch_cap);

/* FNV-1a 32 of the period (u32 LE) then, per channel, name 0x00 unit 0x00. */
uint32_t frame_schema_hash(uint32_t period_ms, const struct frame_channel *channels, uint8_t channel_count);

/*
 * Body builders: write the body into body[0 .. cap) and return its length, or 0 if it does not
 * fit, exceeds FRAME_MAX_BODY or a text is longer than FRAME_TEXT_MAX bytes. A NULL text is
 * sent as an empty one. Texts are sent as given: they should be UTF-8.
 */
size_t frame_body_hello(const struct frame_hello *hello, uint8_t *body, size_t cap);
/* count float32 values, little-endian; any NaN is sent as the quiet NaN 0x7FC00000. 0 if count is 0. */
size_t frame_body_sample(const float *values, size_t count, uint8_t *body, size_t cap);
size_t frame_body_fault(uint8_t channel, uint16_t code, const char *message, uint8_t *body, size_t cap);

/*
 * Streaming receiver: push bytes as they arrive; frames are delimited by 0x00, empty frames
 * (repeated 0x00) are skipped. buf holds one encoded frame, so cap bounds what is accepted
 * (FRAME_MAX_ENCODED for any frame; a device that only reads HELLO_REQUEST can use 16).
 */
struct frame_rx {
    uint8_t *buf;
    size_t cap;
    size_t len;       /* bytes of the frame being received */
    size_t frame_len; /* after FRAME_RX_READY: length of the encoded frame in buf */
    uint8_t discarding;
};

enum frame_rx_status {
    FRAME_RX_NONE = 0, /* nothing complete yet */
    FRAME_RX_READY = 1 /* buf[0 .. frame_len) is one encoded frame, valid until the next push */
};

void frame_rx_init(struct frame_rx *rx, uint8_t *buf, size_t cap);

/*
 * Returns FRAME_RX_NONE, FRAME_RX_READY, or FRAME_ERR_OVERSIZE once, at the delimiter that ends a
 * frame longer than cap (dropped). After FRAME_RX_READY, decode in place with
 * frame_parse(rx->buf, rx->frame_len, &frame, rx->buf, rx->cap).
 */
int frame_rx_push(struct frame_rx *rx, uint8_t byte);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_FRAME_H */
