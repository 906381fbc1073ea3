"""Sub-commands of the ``handzoo`` CLI, one module each."""
