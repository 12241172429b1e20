"""engine/api package."""
