"""The installed handzoo version (a bottom module: anything may import it without cost)."""

__version__ = "0.1.0"
