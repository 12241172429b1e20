"""engine/services package."""
