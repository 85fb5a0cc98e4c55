/* FNV-1a, 32-bit (offset basis 0x811C9DC5, prime 0x01000193): the HELLO schema hash. */
#ifndef EDGE_FNV1A_H
#define EDGE_FNV1A_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FNV1A32_INIT 0x811C9DC5ul
#define FNV1A32_PRIME 0x01000193ul

static inline uint32_t fnv1a32_update(uint32_t hash, const uint8_t *data, size_t len)
{
    size_t i;
    for (i = 0; i < len; i++) {
        hash = (hash ^ data[i]) * (uint32_t)FNV1A32_PRIME;
    }
    return hash;
}

static inline uint32_t fnv1a32(const uint8_t *data, size_t len)
{
    return fnv1a32_update((uint32_t)FNV1A32_INIT, data, len);
}

#ifdef __cplusplus
}
#endif

#endif /* EDGE_FNV1A_H */
