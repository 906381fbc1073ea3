"""mmengine training configs of the hand4whole plugin (``handzoo-train <name>``)."""
