"""The synthetic open-hand data generator: poses, backgrounds, scenes and the FreiHAND-layout writer."""
