"""Datasets in handzoo conventions, the synthetic open-hand benchmark, and shared transforms."""
