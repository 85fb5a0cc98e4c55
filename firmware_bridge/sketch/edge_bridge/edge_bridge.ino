/*
 * edge_bridge: streams sensor readings to the edge-anomaly gateway over the UART, in the
 * firmware bridge protocol v1 (firmware_bridge/PROTOCOL.md). Build: see ../README.md; the
 * portable core in firmware_bridge/core is used as a library, not copied.
 *
 * Channels (their names must match the gateway's model: these are the demo pump's):
 *   bearing_temp_c   TMP102 on I2C at 0x48, degC
 *   vibration_mm_s   4-20 mA velocity transmitter, 250 ohm shunt into A1, 0-25 mm/s
 *   motor_current_a  ACS712-05B hall sensor into A0, A
 * A channel that cannot be read is sent as NaN, and one FAULT frame says why when it starts
 * failing (again after it has recovered). HELLO goes out at boot and on every HELLO_REQUEST.
 */
#include <Wire.h>
#include <math.h>
#include <edge_bridge_core.h>

static const uint8_t FW_MAJOR = 1, FW_MINOR = 0, FW_PATCH = 0;
static const char DEVICE_ID[] = "pump-1";
static const uint32_t PERIOD_MS = 1000;
static const uint8_t TMP102_ADDR = 0x48;
static const float ADC_VOLTS = 5.0f / 1023.0f; // 10-bit ADC, 5 V reference

enum { CH_BEARING_TEMP, CH_VIBRATION, CH_MOTOR_CURRENT, CH_COUNT };

static const struct frame_channel CHANNELS[CH_COUNT] = {
    {"bearing_temp_c", "degC"},
    {"vibration_mm_s", "mm/s"},
    {"motor_current_a", "A"},
};

static uint8_t body[96];                           // largest body: HELLO, 77 bytes here
static uint8_t wire[FRAME_WIRE_SIZE(sizeof body)]; // one frame on the wire
static uint8_t rx_buf[16];                         // HELLO_REQUEST is 11 bytes; longer is dropped
static struct frame_rx rx;
static uint16_t seq;                               // +1 for every frame sent, wraps to 0
static uint32_t next_sample_ms;
static bool failing[CH_COUNT];                     // FAULT sent, channel not recovered yet

// body[0 .. body_len) as one frame; a body builder's 0 (did not fit) sends nothing.
static void send_frame(uint8_t type, size_t body_len)
{
    if (body_len == 0) {
        return;
    }
    size_t n = frame_build(type, seq, millis(), body, body_len, wire, sizeof wire);
    if (n > 0) {
        Serial.write(wire, n);
        seq++;
    }
}

static void send_hello()
{
    static const struct frame_hello hello = {FW_MAJOR, FW_MINOR, FW_PATCH, DEVICE_ID, PERIOD_MS, CHANNELS, CH_COUNT};
    send_frame(FRAME_HELLO, frame_body_hello(&hello, body, sizeof body));
}

static void send_fault(uint8_t channel, uint16_t code, const char *message)
{
    send_frame(FRAME_FAULT, frame_body_fault(channel, code, message, body, sizeof body));
}

static float read_bearing_temp()
{
    Wire.beginTransmission(TMP102_ADDR);
    Wire.write((uint8_t)0x00); // temperature register
    if (Wire.endTransmission() != 0 || Wire.requestFrom(TMP102_ADDR, (uint8_t)2) != 2) {
        return NAN; // no ACK, or a short read
    }
    uint8_t msb = Wire.read();
    uint8_t lsb = Wire.read();
    int16_t raw = (int16_t)(((uint16_t)msb << 8) | lsb); // 12 bits, left-justified
    return raw / 256.0f;                                 // 0.0625 degC per 12-bit step
}

static float read_vibration()
{
    float volts = analogRead(A1) * ADC_VOLTS; // 4-20 mA through 250 ohm: 1-5 V
    if (volts < 0.8f) {
        return NAN; // under 3.2 mA: the loop is open or the transmitter unpowered
    }
    return (volts - 1.0f) * (25.0f / 4.0f);
}

static float read_motor_current()
{
    return (analogRead(A0) * ADC_VOLTS - 2.5f) / 0.185f; // 2.5 V at 0 A, 185 mV/A
}

static void sample_and_send()
{
    static const char *const WHY[CH_COUNT] = {"no ack from TMP102 at 0x48", "4-20 mA loop open", "no reading"};
    static const uint16_t CODE[CH_COUNT] = {FRAME_FAULT_NOT_RESPONDING, FRAME_FAULT_OUT_OF_RANGE,
                                            FRAME_FAULT_NOT_RESPONDING};
    float values[CH_COUNT] = {read_bearing_temp(), read_vibration(), read_motor_current()};

    for (uint8_t ch = 0; ch < CH_COUNT; ch++) {
        bool bad = isnan(values[ch]);
        if (bad && !failing[ch]) {
            send_fault(ch, CODE[ch], WHY[ch]);
        }
        failing[ch] = bad;
    }
    send_frame(FRAME_SAMPLE, frame_body_sample(values, CH_COUNT, body, sizeof body));
}

static void poll_gateway()
{
    while (Serial.available() > 0) {
        if (frame_rx_push(&rx, (uint8_t)Serial.read()) != FRAME_RX_READY) {
            continue;
        }
        struct frame f;
        if (frame_parse(rx.buf, rx.frame_len, &f, rx.buf, rx.cap) == FRAME_OK && f.type == FRAME_HELLO_REQUEST &&
            f.body_len == 0) {
            send_hello();
        }
    }
}

void setup()
{
    Serial.begin(115200);
    Wire.begin();
#if defined(WIRE_HAS_TIMEOUT)
    Wire.setWireTimeout(3000, true); // a stuck bus reads as an error instead of hanging here
#endif
    frame_rx_init(&rx, rx_buf, sizeof rx_buf);
    Serial.write((uint8_t)0x00); // ends any partial frame the gateway holds
    send_hello();
    next_sample_ms = millis();
}

void loop()
{
    poll_gateway();
    uint32_t now = millis();
    if ((int32_t)(now - next_sample_ms) >= 0) { // wrap-safe: millis() wraps after 49.7 days
        next_sample_ms += PERIOD_MS;             // a fixed grid: the time spent below does not drift it
        if ((int32_t)(now - next_sample_ms) >= 0) {
            next_sample_ms = now + PERIOD_MS; // fell more than a period behind: skip, do not burst
        }
        sample_and_send();
    }
}
