"""The benchmark harness (``handzoo-bench``)."""
