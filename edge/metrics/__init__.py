"""Metrics for Prometheus: the text format (:mod:`.exposition`), the agent's series (:mod:`.series`), and the
textfile and HTTP endpoint they are published to (:mod:`.publish`)."""
