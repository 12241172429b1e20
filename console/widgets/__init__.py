"""console/widgets package."""
