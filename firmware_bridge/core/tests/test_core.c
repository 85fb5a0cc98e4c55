/*
 * Host tests of the firmware core: CRC, FNV-1a, COBS, frames, body builders, the streaming
 * receiver, and the shared vectors in firmware_bridge/vectors (read at run time).
 *
 *     test_core path/to/vectors.txt [path/to/vectors.json]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../edge_bridge_core.h" /* cobs.h, crc16.h, fnv1a.h, frame.h */

/* ---- a tiny runner ---------------------------------------------------------------------- */

static unsigned tests_run, tests_failed, checks_run, checks_failed;
static const char *current;

#define CHECK(cond)                                                                            \
    do {                                                                                       \
        checks_run++;                                                                          \
        if (!(cond)) {                                                                         \
            checks_failed++;                                                                   \
            fprintf(stderr, "%s:%d: [%s] CHECK(%s) failed\n", __FILE__, __LINE__, current, #cond); \
        }                                                                                      \
    } while (0)

#define CHECK_EQ(a, b)                                                                         \
    do {                                                                                       \
        long long a_ = (long long)(a), b_ = (long long)(b);                                    \
        checks_run++;                                                                          \
        if (a_ != b_) {                                                                        \
            checks_failed++;                                                                   \
            fprintf(stderr, "%s:%d: [%s] %s == %s failed: %lld != %lld (0x%llx != 0x%llx)\n", \
                    __FILE__, __LINE__, current, #a, #b, a_, b_, a_, b_);                      \
        }                                                                                      \
    } while (0)

#define CHECK_MEM(a, b, n)                                                                     \
    do {                                                                                       \
        checks_run++;                                                                          \
        if (memcmp((a), (b), (n)) != 0) {                                                      \
            checks_failed++;                                                                   \
            fprintf(stderr, "%s:%d: [%s] bytes of %s and %s differ\n", __FILE__, __LINE__,    \
                    current, #a, #b);                                                          \
            dump("  got     ", (a), (n));                                                      \
            dump("  expected", (b), (n));                                                      \
        }                                                                                      \
    } while (0)

static void dump(const char *label, const uint8_t *p, size_t n)
{
    size_t i;
    fprintf(stderr, "%s ", label);
    for (i = 0; i < n; i++) {
        fprintf(stderr, "%02x", p[i]);
    }
    fputc('\n', stderr);
}

static void run(const char *name, void (*fn)(void))
{
    unsigned before = checks_failed;
    current = name;
    fn();
    tests_run++;
    if (checks_failed != before) {
        tests_failed++;
    }
    printf("%-4s %s\n", checks_failed == before ? "ok" : "FAIL", name);
}

#define RUN(fn) run(#fn, fn)

/* ---- helpers ---------------------------------------------------------------------------- */

static uint32_t rng_state = 0x2545F491u;

static uint32_t rng(void) /* xorshift32, fixed seed: the same buffers every run */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

/* Parse hex ("-" is empty) into out; returns the length or -1. */
static long from_hex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex), i;
    if (strcmp(hex, "-") == 0) {
        return 0;
    }
    if (n % 2u != 0u || n / 2u > cap) {
        return -1;
    }
    for (i = 0; i < n / 2u; i++) {
        unsigned byte;
        if (sscanf(&hex[2u * i], "%2x", &byte) != 1) {
            return -1;
        }
        out[i] = (uint8_t)byte;
    }
    return (long)(n / 2u);
}

static int contains_zero(const uint8_t *p, size_t n)
{
    return memchr(p, 0, n) != NULL;
}

/* ---- CRC and FNV ------------------------------------------------------------------------ */

static void test_crc16_check_value(void)
{
    const uint8_t check[] = "123456789";
    uint16_t crc = CRC16_INIT;
    size_t i;
    CHECK_EQ(crc16(check, 9), 0x29B1);
    for (i = 0; i < 9; i++) {
        crc = crc16_update(crc, check[i]);
    }
    CHECK_EQ(crc, 0x29B1);
    CHECK_EQ(crc16_update_buf(crc16_update_buf(CRC16_INIT, check, 4), check + 4, 5), 0x29B1);
    CHECK_EQ(crc16(check, 0), 0xFFFF);
    CHECK_EQ(crc16((const uint8_t *)"A", 1), 0xB915); /* CRC-16/CCITT-FALSE of "A" */
}

static void test_fnv1a(void)
{
    CHECK_EQ(fnv1a32((const uint8_t *)"", 0), 0x811C9DC5u);
    CHECK_EQ(fnv1a32((const uint8_t *)"a", 1), 0xE40C292Cu);
    CHECK_EQ(fnv1a32((const uint8_t *)"foobar", 6), 0xBF9CF968u);
}

static void test_little_endian(void)
{
    uint8_t b[4];
    frame_put_le16(b, 0xBEEF);
    CHECK(b[0] == 0xEF && b[1] == 0xBE);
    frame_put_le32(b, 0x12345678u);
    CHECK(b[0] == 0x78 && b[1] == 0x56 && b[2] == 0x34 && b[3] == 0x12);
    CHECK_EQ(frame_get_le32(b), 0x12345678u);
    CHECK_EQ(frame_get_le16(b), 0x5678);
    frame_put_le32(b, 0xFFFFFFF0u);
    CHECK_EQ(frame_get_le32(b), 0xFFFFFFF0u);
    frame_put_le16(b, 0xFFFF);
    CHECK_EQ(frame_get_le16(b), 0xFFFF);
}

/* ---- COBS ------------------------------------------------------------------------------- */

static void check_cobs(const uint8_t *in, size_t len, const uint8_t *expected, size_t expected_len)
{
    uint8_t enc[700], dec[700];
    size_t n = cobs_encode(in, len, enc), m = 0;
    CHECK_EQ(n, expected_len);
    if (n == expected_len) {
        CHECK_MEM(enc, expected, n);
    }
    CHECK_EQ(cobs_decode(expected, expected_len, dec, sizeof dec, &m), COBS_OK);
    CHECK_EQ(m, len);
    if (m == len && len > 0u) {
        CHECK_MEM(dec, in, len);
    }
}

static void test_cobs_known_examples(void)
{
    uint8_t in[300] = {0}, out[300] = {0};
    size_t i;
    {
        const uint8_t e[] = {0x01};
        check_cobs(in, 0, e, sizeof e);
    }
    {
        const uint8_t i1[] = {0x00}, e[] = {0x01, 0x01};
        check_cobs(i1, sizeof i1, e, sizeof e);
    }
    {
        const uint8_t i1[] = {0x00, 0x00}, e[] = {0x01, 0x01, 0x01};
        check_cobs(i1, sizeof i1, e, sizeof e);
    }
    {
        const uint8_t i1[] = {0x11, 0x22, 0x00, 0x33}, e[] = {0x03, 0x11, 0x22, 0x02, 0x33};
        check_cobs(i1, sizeof i1, e, sizeof e);
    }
    {
        const uint8_t i1[] = {0x11, 0x22, 0x33, 0x44}, e[] = {0x05, 0x11, 0x22, 0x33, 0x44};
        check_cobs(i1, sizeof i1, e, sizeof e);
    }
    {
        const uint8_t i1[] = {0x11, 0x00, 0x00, 0x00}, e[] = {0x02, 0x11, 0x01, 0x01, 0x01};
        check_cobs(i1, sizeof i1, e, sizeof e);
    }
    /* all zeros: one 0x01 per zero, plus one */
    memset(in, 0, 10);
    memset(out, 0x01, 11);
    check_cobs(in, 10, out, 11);
    /* 254 non-zero bytes 01..FE: FF, the bytes, then the final empty block 01 */
    for (i = 0; i < 254; i++) {
        in[i] = (uint8_t)(i + 1u);
    }
    out[0] = 0xFF;
    memcpy(&out[1], in, 254);
    out[255] = 0x01;
    check_cobs(in, 254, out, 256);
    /* 255 non-zero bytes 01..FF: FF, 254 bytes, then 02 FF */
    in[254] = 0xFF;
    out[255] = 0x02;
    out[256] = 0xFF;
    check_cobs(in, 255, out, 257);
    /* 253 non-zero bytes then a zero: FE, 253 bytes, then the final empty block 01 */
    in[253] = 0x00;
    out[0] = 0xFE;
    out[254] = 0x01;
    check_cobs(in, 254, out, 255);
}

static void test_cobs_decode_accepts_short_form(void)
{
    /* FF + 254 bytes without the final 01 (what some encoders send) decodes to the same 254 bytes */
    uint8_t enc[255], dec[300];
    size_t i, n = 0;
    enc[0] = 0xFF;
    for (i = 1; i < 255; i++) {
        enc[i] = (uint8_t)i;
    }
    CHECK_EQ(cobs_decode(enc, sizeof enc, dec, sizeof dec, &n), COBS_OK);
    CHECK_EQ(n, 254);
    CHECK_MEM(dec, enc + 1, 254);
}

static void test_cobs_malformed_and_overflow(void)
{
    uint8_t out[16];
    size_t n = 0;
    const uint8_t overrun[] = {0x05, 0x11, 0x22, 0x33};       /* code says 4 bytes, 3 follow */
    const uint8_t zero_code[] = {0x00};
    const uint8_t zero_in_block[] = {0x03, 0x11, 0x00, 0x01};
    const uint8_t fits[] = {0x03, 0x11, 0x22, 0x02, 0x33};    /* 11 22 00 33 */
    const uint8_t long_then_bad[] = {0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x09, 1};
    CHECK_EQ(cobs_decode(overrun, sizeof overrun, out, sizeof out, &n), COBS_ERR_MALFORMED);
    CHECK_EQ(cobs_decode(zero_code, sizeof zero_code, out, sizeof out, &n), COBS_ERR_MALFORMED);
    CHECK_EQ(cobs_decode(zero_in_block, sizeof zero_in_block, out, sizeof out, &n), COBS_ERR_MALFORMED);
    CHECK_EQ(cobs_decode(fits, sizeof fits, out, 3, &n), COBS_ERR_OVERFLOW);
    CHECK_EQ(n, 4); /* the length it needed */
    CHECK_EQ(cobs_decode(fits, sizeof fits, out, 4, &n), COBS_OK);
    CHECK_EQ(n, 4);
    /* malformed wins over overflow, even when the overflow comes first */
    CHECK_EQ(cobs_decode(long_then_bad, sizeof long_then_bad, out, 2, &n), COBS_ERR_MALFORMED);
    CHECK_EQ(cobs_decode(fits, 0, out, 0, &n), COBS_OK);
    CHECK_EQ(n, 0);
}

static void test_cobs_encoder_capacity(void)
{
    const uint8_t in[] = {0x11, 0x22, 0x00, 0x33};
    uint8_t out[8];
    struct cobs_encoder enc;
    size_t cap;
    for (cap = 0; cap <= 5; cap++) {
        memset(out, 0xAA, sizeof out);
        cobs_encoder_init(&enc, out, cap);
        cobs_encoder_write(&enc, in, sizeof in);
        CHECK_EQ(cobs_encoder_finish(&enc), cap == 5 ? 5 : 0);
        CHECK(out[cap] == 0xAA); /* nothing written past cap */
    }
}

static void test_cobs_random_round_trip(void)
{
    static uint8_t in[600], enc[COBS_MAX_ENCODED(600u)], dec[600], place[COBS_MAX_ENCODED(600u)];
    size_t len, i;
    for (len = 0; len <= 600; len++) {
        size_t n, m = 0, k = 0;
        unsigned zero_per_256 = (unsigned[]){1, 128, 0, 240}[len % 4u];
        for (i = 0; i < len; i++) {
            uint8_t b = (uint8_t)rng();
            in[i] = (rng() & 0xFFu) < zero_per_256 ? 0 : (uint8_t)(b ? b : 1);
        }
        n = cobs_encode(in, len, enc);
        CHECK(n >= len + 1u && n <= COBS_MAX_ENCODED(len));
        CHECK(!contains_zero(enc, n));
        CHECK_EQ(cobs_decode(enc, n, dec, sizeof dec, &m), COBS_OK);
        CHECK_EQ(m, len);
        CHECK(memcmp(dec, in, len) == 0);
        memcpy(place, enc, n); /* decoding in place */
        CHECK_EQ(cobs_decode(place, n, place, sizeof place, &k), COBS_OK);
        CHECK_EQ(k, len);
        CHECK(memcmp(place, in, len) == 0);
    }
}

/* ---- frames ----------------------------------------------------------------------------- */

static const struct frame_channel pump_channels[] = {
    {"bearing_temp_c", "degC"},
    {"vibration_mm_s", "mm/s"},
    {"motor_current_a", "A"},
};

static const struct frame_hello pump_hello = {1, 4, 2, "pump-1", 1000, pump_channels, 3};

static void test_frame_round_trip_random(void)
{
    static const uint8_t types[] = {FRAME_HELLO, FRAME_SAMPLE, FRAME_FAULT, FRAME_HELLO_REQUEST};
    static uint8_t body[FRAME_MAX_BODY], wire[FRAME_MAX_WIRE], scratch[FRAME_MAX_LEN], rxbuf[FRAME_MAX_ENCODED];
    struct frame_rx rx;
    unsigned trial;
    frame_rx_init(&rx, rxbuf, sizeof rxbuf);
    for (trial = 0; trial < 500; trial++) {
        uint8_t type = types[rng() % 4u];
        uint16_t seq = (uint16_t)rng();
        uint32_t ts = rng();
        size_t len = trial < 4u ? (size_t[]){0, 1, 501, 502}[trial] : rng() % (FRAME_MAX_BODY + 1u);
        size_t n, i, ready = 0, flip;
        struct frame f;
        for (i = 0; i < len; i++) {
            body[i] = (uint8_t)((rng() & 3u) == 0u ? 0u : rng()); /* many zeros */
        }
        n = frame_build(type, seq, ts, body, len, wire, sizeof wire);
        CHECK(n > 0u && n <= FRAME_WIRE_SIZE(len) && n <= FRAME_MAX_WIRE);
        CHECK(wire[n - 1u] == 0x00 && !contains_zero(wire, n - 1u));
        CHECK_EQ(frame_parse(wire, n, &f, scratch, sizeof scratch), FRAME_OK);
        CHECK(f.type == type && f.version == 1 && f.seq == seq && f.ts_ms == ts && f.body_len == len);
        CHECK(memcmp(f.body, body, len) == 0);
        /* the same bytes through the streaming receiver, then decoded in place */
        for (i = 0; i < n; i++) {
            int r = frame_rx_push(&rx, wire[i]);
            if (r == FRAME_RX_READY) {
                ready++;
                CHECK_EQ(rx.frame_len, n - 1u);
                CHECK_EQ(frame_parse(rx.buf, rx.frame_len, &f, rx.buf, rx.cap), FRAME_OK);
                CHECK(f.seq == seq && f.body_len == len && memcmp(f.body, body, len) == 0);
            } else {
                CHECK_EQ(r, FRAME_RX_NONE);
            }
        }
        CHECK_EQ(ready, 1);
        /* one flipped bit is never taken for a good frame */
        flip = rng() % (n - 1u);
        wire[flip] ^= (uint8_t)(1u << (rng() % 8u));
        CHECK(frame_parse(wire, n, &f, scratch, sizeof scratch) != FRAME_OK);
    }
}

/* A raw frame (header, body, CRC) with any version and length, COBS-encoded with its delimiter. */
static size_t raw_wire(uint8_t type, uint8_t version, size_t body_len, uint8_t *wire)
{
    static uint8_t raw[600];
    size_t n = FRAME_HEADER_LEN + body_len, i;
    raw[0] = type;
    raw[1] = version;
    frame_put_le16(&raw[2], 5);
    frame_put_le32(&raw[4], 100);
    for (i = FRAME_HEADER_LEN; i < n; i++) {
        raw[i] = (uint8_t)(i * 7u);
    }
    frame_put_le16(&raw[n], crc16(raw, n));
    n = cobs_encode(raw, n + FRAME_CRC_LEN, wire);
    wire[n] = 0;
    return n + 1u;
}

static void test_frame_parse_errors(void)
{
    static uint8_t wire[700], scratch[FRAME_MAX_LEN];
    struct frame f;
    size_t n;
    const uint8_t empty[] = {0x01, 0x00}, delimiter_only[] = {0x00}, inner_zero[] = {0x02, 0x11, 0x00, 0x02, 0x22, 0x00};

    n = raw_wire(FRAME_SAMPLE, 1, FRAME_MAX_BODY, wire); /* 512 bytes: the largest frame */
    CHECK(n <= FRAME_MAX_WIRE);
    CHECK_EQ(frame_parse(wire, n, &f, scratch, sizeof scratch), FRAME_OK);
    CHECK_EQ(f.body_len, FRAME_MAX_BODY);
    n = raw_wire(FRAME_SAMPLE, 1, FRAME_MAX_BODY + 1u, wire); /* 513 bytes */
    CHECK_EQ(frame_parse(wire, n, &f, scratch, sizeof scratch), FRAME_ERR_OVERSIZE);
    n = raw_wire(FRAME_SAMPLE, 1, 580, wire);
    CHECK_EQ(frame_parse(wire, n, &f, scratch, sizeof scratch), FRAME_ERR_OVERSIZE);
    n = raw_wire(FRAME_SAMPLE, 1, 0, wire); /* 10 bytes: the smallest frame */
    CHECK_EQ(frame_parse(wire, n, &f, scratch, sizeof scratch), FRAME_OK);
    CHECK_EQ(frame_parse(wire, n - 1u, &f, scratch, sizeof scratch), FRAME_OK); /* without the 0x00 */
    CHECK_EQ(frame_parse(wire, n, &f, scratch, 9), FRAME_ERR_NOSPACE);
    n = raw_wire(FRAME_SAMPLE, 1, 8, wire);
    CHECK_EQ(frame_parse(wire, n, &f, scratch, 12), FRAME_ERR_NOSPACE);
    CHECK_EQ(frame_parse(empty, sizeof empty, &f, scratch, sizeof scratch), FRAME_ERR_SHORT);
    CHECK_EQ(frame_parse(delimiter_only, sizeof delimiter_only, &f, scratch, sizeof scratch), FRAME_ERR_SHORT);
    CHECK_EQ(frame_parse(inner_zero, sizeof inner_zero, &f, scratch, sizeof scratch), FRAME_ERR_COBS);
    n = raw_wire(0x00, 1, 4, wire);
    CHECK_EQ(frame_parse(wire, n, &f, scratch, sizeof scratch), FRAME_ERR_UNKNOWN_TYPE);
    n = raw_wire(FRAME_HELLO_REQUEST, 0, 0, wire);
    CHECK_EQ(frame_parse(wire, n, &f, scratch, sizeof scratch), FRAME_ERR_VERSION);
}

static void test_frame_build_limits(void)
{
    static uint8_t body[FRAME_MAX_BODY + 1u], wire[FRAME_MAX_WIRE + 8u];
    size_t need;
    memset(body, 0x5A, sizeof body);
    CHECK_EQ(FRAME_WIRE_SIZE(FRAME_MAX_BODY), FRAME_MAX_WIRE);
    CHECK_EQ(FRAME_MAX_WIRE, 516);
    CHECK_EQ(frame_build(FRAME_SAMPLE, 0, 0, body, FRAME_MAX_BODY + 1u, wire, sizeof wire), 0);
    CHECK_EQ(frame_build(FRAME_SAMPLE, 0, 0, NULL, 4, wire, sizeof wire), 0);
    need = frame_build(FRAME_SAMPLE, 0x0101, 0x01010101u, body, 100, wire, sizeof wire);
    CHECK(need > 0u);
    CHECK_EQ(frame_build(FRAME_SAMPLE, 0x0101, 0x01010101u, body, 100, wire, need), need);
    CHECK_EQ(frame_build(FRAME_SAMPLE, 0x0101, 0x01010101u, body, 100, wire, need - 1u), 0);
    /* the worst case: 512 bytes without a zero take exactly FRAME_MAX_WIRE bytes */
    need = frame_build(FRAME_SAMPLE, 0x0101, 0x01010101u, body, FRAME_MAX_BODY, wire, sizeof wire);
    CHECK_EQ(need, FRAME_MAX_WIRE);
    CHECK_EQ(frame_build(FRAME_SAMPLE, 0x0101, 0x01010101u, body, FRAME_MAX_BODY, wire, FRAME_MAX_WIRE), need);
    CHECK_EQ(frame_build(FRAME_HELLO_REQUEST, 0, 0, NULL, 0, wire, 0), 0);
    CHECK(frame_build(FRAME_HELLO_REQUEST, 0, 0, NULL, 0, wire, FRAME_WIRE_SIZE(0)) > 0u);
}

static void test_body_builders(void)
{
    uint8_t body[600];
    const char *text32 = "0123456789abcdef0123456789abcdef";
    const char *text33 = "0123456789abcdef0123456789abcdef!";
    const float one[] = {1.0f};
    const float nans[] = {NAN, -NAN};
    struct frame_hello h = pump_hello;
    size_t n;

    CHECK_EQ(frame_body_fault(2, 0x0102, text32, body, sizeof body), 3 + 1 + 32);
    CHECK_EQ(body[3], 32);
    CHECK_EQ(frame_body_fault(2, 1, text33, body, sizeof body), 0);
    CHECK_EQ(frame_body_fault(2, 1, NULL, body, sizeof body), 4);
    CHECK_EQ(frame_body_fault(2, 1, "ab", body, 5), 0);
    CHECK_EQ(frame_body_fault(2, 1, "ab", body, 6), 6);
    CHECK_EQ(frame_body_sample(one, 1, body, 3), 0);
    CHECK_EQ(frame_body_sample(one, 1, body, 4), 4);
    CHECK(body[0] == 0x00 && body[1] == 0x00 && body[2] == 0x80 && body[3] == 0x3F);
    CHECK_EQ(frame_body_sample(nans, 2, body, sizeof body), 8);
    CHECK_EQ(frame_get_le32(body), 0x7FC00000u);
    CHECK_EQ(frame_get_le32(body + 4), 0x7FC00000u); /* -NaN too: one NaN on the wire */
    CHECK_EQ(frame_body_sample(one, 0, body, sizeof body), 0);
    /* a sample of 126 channels (504 bytes) is over the 502-byte body limit */
    {
        static float many[126];
        CHECK_EQ(frame_body_sample(many, 125, body, sizeof body), 500);
        CHECK_EQ(frame_body_sample(many, 126, body, sizeof body), 0);
    }
    n = frame_body_hello(&h, body, sizeof body);
    CHECK(n > 0u);
    CHECK_EQ(frame_body_hello(&h, body, n - 1u), 0);
    CHECK_EQ(frame_body_hello(&h, body, n), n);
    h.device_id = text33;
    CHECK_EQ(frame_body_hello(&h, body, sizeof body), 0);
}

static void test_frame_rx(void)
{
    uint8_t buf[16], wire[64];
    struct frame_rx rx;
    struct frame f;
    size_t n, i;
    int r = FRAME_RX_NONE;
    unsigned oversize = 0, ready = 0;

    frame_rx_init(&rx, buf, sizeof buf);
    n = frame_build(FRAME_HELLO_REQUEST, 7, 0, NULL, 0, wire, sizeof wire);
    CHECK_EQ(n, 12);
    /* repeated delimiters are empty frames: ignored */
    CHECK_EQ(frame_rx_push(&rx, 0), FRAME_RX_NONE);
    CHECK_EQ(frame_rx_push(&rx, 0), FRAME_RX_NONE);
    /* 40 bytes of noise overflow a 16-byte receiver: one oversize, at the next 0x00 */
    for (i = 0; i < 40; i++) {
        r = frame_rx_push(&rx, (uint8_t)(0x41u + i));
        CHECK_EQ(r, FRAME_RX_NONE);
    }
    CHECK_EQ(frame_rx_push(&rx, 0), FRAME_ERR_OVERSIZE);
    CHECK_EQ(frame_rx_push(&rx, 0), FRAME_RX_NONE);
    /* a receiver that starts mid-frame: the tail is dropped as a bad frame, the next one is good */
    for (i = 5; i < n; i++) {
        r = frame_rx_push(&rx, wire[i]);
    }
    CHECK_EQ(r, FRAME_RX_READY);
    CHECK(frame_parse(rx.buf, rx.frame_len, &f, rx.buf, rx.cap) != FRAME_OK);
    for (i = 0; i < 3u * n; i++) {
        r = frame_rx_push(&rx, wire[i % n]);
        if (r == FRAME_RX_READY) {
            ready++;
            CHECK_EQ(frame_parse(rx.buf, rx.frame_len, &f, rx.buf, rx.cap), FRAME_OK);
            CHECK(f.type == FRAME_HELLO_REQUEST && f.seq == 7 && f.body_len == 0);
        } else if (r == FRAME_ERR_OVERSIZE) {
            oversize++;
        }
    }
    CHECK_EQ(ready, 3);
    CHECK_EQ(oversize, 0);
    /* exactly cap bytes fit; cap + 1 do not */
    for (i = 0; i < sizeof buf; i++) {
        frame_rx_push(&rx, 0x33);
    }
    CHECK_EQ(frame_rx_push(&rx, 0), FRAME_RX_READY);
    CHECK_EQ(rx.frame_len, sizeof buf);
    for (i = 0; i <= sizeof buf; i++) {
        frame_rx_push(&rx, 0x33);
    }
    CHECK_EQ(frame_rx_push(&rx, 0), FRAME_ERR_OVERSIZE);
}

/* ---- shared vectors --------------------------------------------------------------------- */

#define MAX_VECTORS 64

struct vector {
    char name[48];
    char expect[16];
    unsigned type, version, seq;
    unsigned long ts;
    uint8_t body[FRAME_MAX_BODY + 16u];
    size_t body_len;
    uint8_t wire[FRAME_MAX_WIRE + 16u];
    size_t wire_len;
};

static struct vector vectors[MAX_VECTORS];
static size_t vector_count;
static const char *vectors_txt, *vectors_json;

static int load_vectors(const char *path)
{
    static char line[4096];
    static char body_hex[2 * (FRAME_MAX_BODY + 16u) + 2u], wire_hex[2 * (FRAME_MAX_WIRE + 16u) + 2u];
    FILE *fp = fopen(path, "r");
    unsigned lineno = 0;
    if (fp == NULL) {
        perror(path);
        return -1;
    }
    while (fgets(line, sizeof line, fp) != NULL) {
        struct vector *v = &vectors[vector_count];
        long b, w;
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(fp)) {
            fprintf(stderr, "%s:%u: line too long\n", path, lineno);
            fclose(fp);
            return -1;
        }
        if (line[0] == '#' || line[0] == '\n' || line[0] == '\0') {
            continue;
        }
        if (vector_count == MAX_VECTORS ||
            sscanf(line, "%47s %15s %x %x %x %lx %1023s %1039s", v->name, v->expect, &v->type, &v->version, &v->seq,
                   &v->ts, body_hex, wire_hex) != 8) {
            fprintf(stderr, "%s:%u: cannot read the vector\n", path, lineno);
            fclose(fp);
            return -1;
        }
        b = from_hex(body_hex, v->body, sizeof v->body);
        w = from_hex(wire_hex, v->wire, sizeof v->wire);
        if (b < 0 || w < 0) {
            fprintf(stderr, "%s:%u: bad hex\n", path, lineno);
            fclose(fp);
            return -1;
        }
        v->body_len = (size_t)b;
        v->wire_len = (size_t)w;
        vector_count++;
    }
    fclose(fp);
    return 0;
}

static const struct vector *find_vector(const char *name)
{
    size_t i;
    for (i = 0; i < vector_count; i++) {
        if (strcmp(vectors[i].name, name) == 0) {
            return &vectors[i];
        }
    }
    return NULL;
}

static int expected_status(const char *expect)
{
    static const struct {
        const char *name;
        int status;
    } map[] = {{"ok", FRAME_OK},         {"cobs", FRAME_ERR_COBS},       {"short", FRAME_ERR_SHORT},
               {"oversize", FRAME_ERR_OVERSIZE}, {"crc", FRAME_ERR_CRC}, {"version", FRAME_ERR_VERSION},
               {"unknown_type", FRAME_ERR_UNKNOWN_TYPE}};
    size_t i;
    for (i = 0; i < sizeof map / sizeof map[0]; i++) {
        if (strcmp(map[i].name, expect) == 0) {
            return map[i].status;
        }
    }
    return 1; /* matches no status: the check fails */
}

static const struct vector *current_vector;

static void test_one_vector(void)
{
    static uint8_t scratch[FRAME_MAX_LEN], wire[FRAME_MAX_WIRE];
    const struct vector *v = current_vector;
    struct frame f;
    int want = expected_status(v->expect);
    int got = frame_parse(v->wire, v->wire_len, &f, scratch, sizeof scratch);
    size_t n;

    CHECK(want != 1);
    CHECK_EQ(got, want);
    CHECK(v->wire_len > 0u && v->wire[v->wire_len - 1u] == 0x00);
    if (want != FRAME_OK || got != FRAME_OK) {
        return;
    }
    CHECK_EQ(f.type, v->type);
    CHECK_EQ(f.version, v->version);
    CHECK_EQ(f.seq, v->seq);
    CHECK_EQ(f.ts_ms, v->ts);
    CHECK_EQ(f.body_len, v->body_len);
    if (f.body_len == v->body_len) {
        CHECK_MEM(f.body, v->body, v->body_len);
    }
    n = frame_build((uint8_t)v->type, (uint16_t)v->seq, (uint32_t)v->ts, v->body, v->body_len, wire, sizeof wire);
    CHECK_EQ(n, v->wire_len);
    if (n == v->wire_len) {
        CHECK_MEM(wire, v->wire, n);
    }
}

static void test_vectors_loaded(void)
{
    size_t i, ok = 0, bad = 0;
    for (i = 0; i < vector_count; i++) {
        if (strcmp(vectors[i].expect, "ok") == 0) {
            ok++;
        } else {
            bad++;
        }
    }
    /* the set make_vectors.py writes: a shorter file means something went missing */
    CHECK(ok >= 9u);
    CHECK(bad >= 5u);
    CHECK(find_vector("hello_pump") != NULL);
    CHECK(find_vector("sample_pump") != NULL);
}

/* All vectors back to back as one stream, through the streaming receiver. */
static void test_vectors_as_stream(void)
{
    static uint8_t rxbuf[FRAME_MAX_ENCODED];
    struct frame_rx rx;
    size_t i, j, seen = 0;
    frame_rx_init(&rx, rxbuf, sizeof rxbuf);
    CHECK_EQ(frame_rx_push(&rx, 0x00), FRAME_RX_NONE); /* a sender may start with a 0x00 */
    for (i = 0; i < vector_count; i++) {
        const struct vector *v = &vectors[i];
        for (j = 0; j < v->wire_len; j++) {
            int r = frame_rx_push(&rx, v->wire[j]);
            if (r == FRAME_RX_READY) {
                struct frame f;
                seen++;
                CHECK_EQ(j, v->wire_len - 1u);
                CHECK_EQ(frame_parse(rx.buf, rx.frame_len, &f, rx.buf, rx.cap), expected_status(v->expect));
            } else {
                CHECK_EQ(r, FRAME_RX_NONE);
            }
        }
    }
    CHECK_EQ(seen, vector_count);
}

/* The schema hash in vectors.json, found without a JSON parser. */
static long long json_schema_hash(const char *path)
{
    static char text[1 << 16];
    FILE *fp = fopen(path, "r");
    size_t n;
    const char *key;
    if (fp == NULL) {
        perror(path);
        return -1;
    }
    n = fread(text, 1, sizeof text - 1u, fp);
    fclose(fp);
    text[n] = '\0';
    key = strstr(text, "\"schema_hash\":");
    return key ? strtoll(key + strlen("\"schema_hash\":"), NULL, 10) : -1;
}

static void test_vector_hello_pump_meaning(void)
{
    const struct vector *v = find_vector("hello_pump");
    uint8_t body[128];
    size_t n = frame_body_hello(&pump_hello, body, sizeof body);
    uint32_t hash = frame_schema_hash(1000, pump_channels, 3);
    CHECK(v != NULL);
    if (v == NULL) {
        return;
    }
    CHECK_EQ(n, v->body_len);
    if (n == v->body_len) {
        CHECK_MEM(body, v->body, n);
    }
    CHECK_EQ(hash, 3730857023u);
    CHECK_EQ(frame_get_le32(&v->body[v->body_len - 4u]), hash);
    if (vectors_json != NULL) {
        CHECK_EQ(json_schema_hash(vectors_json), hash);
    }
}

static void check_sample_vector(const char *name, const float *values, size_t count)
{
    const struct vector *v = find_vector(name);
    uint8_t body[FRAME_MAX_BODY];
    size_t n = frame_body_sample(values, count, body, sizeof body);
    CHECK(v != NULL);
    if (v == NULL) {
        return;
    }
    CHECK_EQ(n, v->body_len);
    if (n == v->body_len) {
        CHECK_MEM(body, v->body, n);
    }
}

static void test_vector_sample_meanings(void)
{
    const float pump[] = {47.25f, 2.875f, -10.5f};
    const float with_nan[] = {NAN, 3.0f, 12.0f};
    const float wrapped[] = {1.0f};
    const float zeros[] = {0.0f, 0.0f};
    float run[70];
    size_t i;
    for (i = 0; i < 70; i++) {
        run[i] = 1.1f;
    }
    check_sample_vector("sample_pump", pump, 3);
    check_sample_vector("sample_nan", with_nan, 3);
    check_sample_vector("sample_wrapped_sequence", wrapped, 1);
    check_sample_vector("sample_with_zero_bytes", zeros, 2);
    check_sample_vector("sample_long_run", run, 70);
}

static void test_vector_fault_meanings(void)
{
    const struct vector *ch = find_vector("fault_channel"), *dev = find_vector("fault_device");
    uint8_t body[64];
    size_t n;
    CHECK(ch != NULL && dev != NULL);
    if (ch == NULL || dev == NULL) {
        return;
    }
    n = frame_body_fault(1, FRAME_FAULT_OUT_OF_RANGE, "no ack at 0x53", body, sizeof body);
    CHECK_EQ(n, ch->body_len);
    if (n == ch->body_len) {
        CHECK_MEM(body, ch->body, n);
    }
    n = frame_body_fault(FRAME_FAULT_DEVICE, FRAME_FAULT_POWER, "", body, sizeof body);
    CHECK_EQ(n, dev->body_len);
    if (n == dev->body_len) {
        CHECK_MEM(body, dev->body, n);
    }
}

int main(int argc, char **argv)
{
    static char json_path[4096];
    size_t i;

    if (argc < 2) {
        fprintf(stderr, "usage: %s vectors.txt [vectors.json]\n", argv[0]);
        return 2;
    }
    vectors_txt = argv[1];
    if (argc >= 3) {
        vectors_json = argv[2];
    } else if (strlen(vectors_txt) < sizeof json_path) {
        char *dot; /* vectors.txt -> vectors.json, next to it */
        strcpy(json_path, vectors_txt);
        dot = strrchr(json_path, '.');
        if (dot != NULL && strcmp(dot, ".txt") == 0 && (size_t)(dot - json_path) + 6u < sizeof json_path) {
            strcpy(dot, ".json");
            vectors_json = json_path;
        }
    }
    if (load_vectors(vectors_txt) != 0) {
        return 2;
    }

    RUN(test_crc16_check_value);
    RUN(test_fnv1a);
    RUN(test_little_endian);
    RUN(test_cobs_known_examples);
    RUN(test_cobs_decode_accepts_short_form);
    RUN(test_cobs_malformed_and_overflow);
    RUN(test_cobs_encoder_capacity);
    RUN(test_cobs_random_round_trip);
    RUN(test_frame_round_trip_random);
    RUN(test_frame_parse_errors);
    RUN(test_frame_build_limits);
    RUN(test_body_builders);
    RUN(test_frame_rx);
    RUN(test_vectors_loaded);
    for (i = 0; i < vector_count; i++) {
        static char name[80];
        current_vector = &vectors[i];
        snprintf(name, sizeof name, "vector %s (%s)", vectors[i].name, vectors[i].expect);
        run(name, test_one_vector);
    }
    RUN(test_vectors_as_stream);
    RUN(test_vector_hello_pump_meaning);
    RUN(test_vector_sample_meanings);
    RUN(test_vector_fault_meanings);

    printf("test_core: %u tests, %u checks, %u failed tests, %u failed checks (%zu vectors from %s)\n", tests_run,
           checks_run, tests_failed, checks_failed, vector_count, vectors_txt);
    return tests_failed == 0u && checks_failed == 0u ? 0 : 1;
}
