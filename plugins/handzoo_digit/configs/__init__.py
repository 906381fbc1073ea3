"""mmengine training configs of the digit plugin (``handzoo-train <name>``)."""
