"""mmengine training configs of the compact model (``handzoo-train <variant>``)."""
