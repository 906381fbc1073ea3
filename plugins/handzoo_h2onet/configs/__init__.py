"""mmengine training configs of the h2onet plugin (``handzoo-train <name>``)."""
