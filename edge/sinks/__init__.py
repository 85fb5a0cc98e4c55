"""Sinks: where events go (the log here; GPIO and MQTT plug in the same way)."""
