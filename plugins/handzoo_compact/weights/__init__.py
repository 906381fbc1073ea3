"""The compact model's bundled weights (safetensors) and their training record."""
