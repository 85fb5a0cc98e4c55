/*
 * The firmware bridge core in one include: COBS, CRC-16/CCITT-FALSE, FNV-1a and frames.
 * Its unique name is also what lets the Arduino tools find core/ as a library.
 */
#ifndef EDGE_BRIDGE_CORE_H
#define EDGE_BRIDGE_CORE_H

#include "cobs.h"
#include "crc16.h"
#include "fnv1a.h"
#include "frame.h"

#endif /* EDGE_BRIDGE_CORE_H */
