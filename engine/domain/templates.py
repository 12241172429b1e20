"""`${variable}` templates: replies, signatures, confirmations and dialer mail share one syntax.

Unknown variables are left visible (and reported) rather than silently blanked, so an agent
sees `${order}` before sending instead of a customer seeing a hole in the sentence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from engine.text.variables import (
    TEMPLATE_VARIABLE,
    TEMPLATE_VARIABLES,
    TEMPLATE_VARIABLES_BY_KIND,
)

__all__ = [
    "TEMPLATE_VARIABLE",
    "TEMPLATE_VARIABLES",
    "TEMPLATE_VARIABLES_BY_KIND",
    "Rendered",
    "render",
]

# One syntax, shared with the consoles.
VARIABLE = TEMPLATE_VARIABLE


@dataclass(frozen=True)
class Rendered:
    text: str
    unknown: list[str]  # variable names left as they were, in order of first use


def render(template: str, variables: Mapping[str, str]) -> Rendered:
    unknown: list[str] = []

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in variables:
            return variables[name]
        if name not in unknown:
            unknown.append(name)
        return match.group(0)

    return Rendered(VARIABLE.sub(substitute, template), unknown)
