"""Data files shipped inside the handzoo package."""
