"""Postdesk: a terminal email contact center. This package is the composition root (CLI)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("postdesk")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
