"""mmengine training configs of the smhr plugin (``handzoo-train <name>``)."""
