"""The one error of `postdesk ctl` that is the user's input, not the engine's: said plainly,
exit status 2."""

from __future__ import annotations


class CtlInputError(Exception):
    """Input the command itself cannot use (an unreadable or malformed --file)."""
