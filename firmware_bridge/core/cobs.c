#include "cobs.h"

void cobs_encoder_init(struct cobs_encoder *enc, uint8_t *out, size_t cap)
{
    enc->out = out;
    enc->cap = cap;
    enc->code_pos = 0;
    enc->pos = 1;
    enc->code = 1;
    enc->overflow = (uint8_t)(cap < 1u);
}

/* Write the current block's code byte and reserve a slot for the next one. */
static void finish_block(struct cobs_encoder *enc)
{
    if (!enc->overflow) {
        enc->out[enc->code_pos] = enc->code;
    }
    enc->code_pos = enc->pos;
    enc->pos++;
    enc->code = 1;
    if (enc->code_pos >= enc->cap) {
        enc->overflow = 1;
    }
}

void cobs_encoder_put(struct cobs_encoder *enc, uint8_t byte)
{
    if (byte == 0u) {
        finish_block(enc);
        return;
    }
    if (enc->pos >= enc->cap) {
        enc->overflow = 1;
    }
    if (!enc->overflow) {
        enc->out[enc->pos] = byte;
    }
    enc->pos++;
    enc->code++;
    if (enc->code == 0xFFu) {
        finish_block(enc);
    }
}

void cobs_encoder_write(struct cobs_encoder *enc, const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        cobs_encoder_put(enc, data[i]);
    }
}

size_t cobs_encoder_finish(struct cobs_encoder *enc)
{
    if (enc->overflow) {
        return 0;
    }
    enc->out[enc->code_pos] = enc->code;
    return enc->pos;
}

size_t cobs_encode(const uint8_t *in, size_t len, uint8_t *out)
{
    struct cobs_encoder enc;
    cobs_encoder_init(&enc, out, COBS_MAX_ENCODED(len));
    cobs_encoder_write(&enc, in, len);
    return cobs_encoder_finish(&enc);
}

int cobs_decode(const uint8_t *in, size_t len, uint8_t *out, size_t out_cap, size_t *out_len)
{
    size_t r = 0; /* read index */
    size_t w = 0; /* write index; w < r whenever a byte is written, so in-place is safe */

    while (r < len) {
        const uint8_t code = in[r];
        size_t end;
        if (code == 0u || code > len - r) {
            return COBS_ERR_MALFORMED;
        }
        end = r + code;
        for (r++; r < end; r++) {
            const uint8_t byte = in[r];
            if (byte == 0u) {
                return COBS_ERR_MALFORMED;
            }
            if (w < out_cap) {
                out[w] = byte;
            }
            w++;
        }
        if (code != 0xFFu && r < len) {
            if (w < out_cap) {
                out[w] = 0;
            }
            w++;
        }
    }
    *out_len = w;
    return w > out_cap ? COBS_ERR_OVERFLOW : COBS_OK;
}
