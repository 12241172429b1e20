"""console/screens package."""
