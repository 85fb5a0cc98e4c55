"""The firmware bridge's wire protocol (see firmware_bridge/PROTOCOL.md): COBS frames with a CRC."""
