"""JSON schemas of the benchmark harness's outputs (``results.schema.json``)."""
