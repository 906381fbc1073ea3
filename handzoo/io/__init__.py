"""Readers of third-party file formats that must never run code (see :mod:`handzoo.io.safe_pickle`)."""
