/*
 * CRC-16/CCITT-FALSE: polynomial 0x1021, initial value 0xFFFF, no reflection, no final XOR.
 * Check value: "123456789" -> 0x29B1.
 *
 * Bitwise, no table: a loop of a few tens of bytes of flash instead of a 512-byte table, which
 * on AVR would also be copied into RAM unless it were moved to PROGMEM (and then read with
 * pgm_read_word, which is not portable). The cost is 8 shift/XOR steps per byte: roughly
 * 2-3 ms for a maximal 512-byte frame on a 16 MHz AVR, while the UART needs about 45 ms to send
 * it at 115200 baud; a 24-byte SAMPLE frame costs around 0.1 ms.
 */
#ifndef EDGE_CRC16_H
#define EDGE_CRC16_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CRC16_INIT 0xFFFFu

/* Fold one byte into a running CRC; start from CRC16_INIT. */
uint16_t crc16_update(uint16_t crc, uint8_t byte);

/* Fold len bytes into a running CRC. */
uint16_t crc16_update_buf(uint16_t crc, const uint8_t *data, size_t len);

/* The CRC of len bytes. */
uint16_t crc16(const uint8_t *data, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_CRC16_H */
