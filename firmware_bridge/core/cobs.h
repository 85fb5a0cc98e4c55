/*
 * Consistent Overhead Byte Stuffing (Cheshire & Baker, 1999).
 *
 * The encoding of n bytes has no 0x00 byte and is at most COBS_MAX_ENCODED(n) bytes long, so
 * 0x00 can delimit frames on a byte stream. This is the paper's encoder: a run of 254 non-zero
 * bytes closes its block with code 0xFF, so input that ends with such a run is followed by a
 * final code 0x01 (e.g. 254 x 0x11 encodes to FF, 254 x 11, 01). The decoder accepts that form
 * and the shorter one without the final 0x01.
 *
 * No allocation, no stdio; buffers belong to the caller.
 */
#ifndef EDGE_COBS_H
#define EDGE_COBS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Largest encoding of n input bytes (without any delimiter). */
#define COBS_MAX_ENCODED(n) ((n) + (n) / 254u + 1u)

enum cobs_status {
    COBS_OK = 0,
    COBS_ERR_MALFORMED = -1, /* a code byte is 0x00 or runs past the end, or a block holds 0x00 */
    COBS_ERR_OVERFLOW = -2   /* the output does not fit in the buffer given */
};

/*
 * Encode len bytes of in into out, which must hold COBS_MAX_ENCODED(len) bytes and must not
 * overlap in. Returns the encoded length (at least 1). No delimiter is appended.
 */
size_t cobs_encode(const uint8_t *in, size_t len, uint8_t *out);

/*
 * Decode one encoded frame (without its 0x00 delimiter). The whole input is always checked:
 * COBS_ERR_MALFORMED wins over COBS_ERR_OVERFLOW. On COBS_OK and on COBS_ERR_OVERFLOW,
 * *out_len is the decoded length (on overflow: the length that did not fit; only the first
 * out_cap bytes were written). out may be the same buffer as in (decoding in place is safe:
 * the output never overtakes the input); partial overlap is not allowed.
 */
int cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap, size_t *out_len);

/*
 * Incremental encoder: feed bytes one at a time straight into the output buffer, so a frame can
 * be encoded without first assembling it in a temporary buffer.
 */
struct cobs_encoder {
    uint8_t *out;
    size_t cap;
    size_t pos;      /* next free index in out */
    size_t code_pos; /* index reserved for the current block's code byte */
    uint8_t code;    /* 1 + bytes in the current block */
    uint8_t overflow;
};

void cobs_encoder_init(struct cobs_encoder *enc, uint8_t *out, size_t cap);
void cobs_encoder_put(struct cobs_encoder *enc, uint8_t byte);
void cobs_encoder_write(struct cobs_encoder *enc, const uint8_t *data, size_t len);
/* Close the last block; the encoded length, or 0 if the output did not fit in cap. */
size_t cobs_encoder_finish(struct cobs_encoder *enc);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_COBS_H */
