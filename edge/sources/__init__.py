"""Sources: where readings come from (replay here; serial and I2C plug in the same way)."""
