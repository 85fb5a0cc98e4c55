"""The model file: its metadata, its checksums, and the onnxruntime session that runs it."""
