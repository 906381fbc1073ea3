"""mmengine training configs of the 3dhand plugin (``handzoo-train <name>``)."""
