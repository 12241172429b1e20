"""engine/domain package."""
