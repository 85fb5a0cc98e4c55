"""The service around the pipeline: the agent loop, status, checkpoints, sd_notify, the journal, the
network policy."""
