"""The `${variable}` syntax of templates and the names each kind of template may use.

One definition for the engine (which fills them) and the consoles (which point out an
unknown one before it reaches a client).
"""

from __future__ import annotations

import re

__all__ = ["TEMPLATE_VARIABLE", "TEMPLATE_VARIABLES", "TEMPLATE_VARIABLES_BY_KIND"]

# `${name}` is filled with the client's name (else address), `${email}` the client's address,
# `${agent}` the agent's name, `${campaign}` and `${subject}`; any other is left as typed and
# reported, so consoles can warn before it reaches a client.
TEMPLATE_VARIABLES = ("name", "email", "agent", "campaign", "subject")
TEMPLATE_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_.-]*)\}")
# Per template kind: a confirmation goes out before any agent is involved; dialer mail is
# filled from its list's CSV columns, which only the list knows (None: not checked here).
TEMPLATE_VARIABLES_BY_KIND: dict[str, tuple[str, ...] | None] = {
    "reply": TEMPLATE_VARIABLES,
    "signature": TEMPLATE_VARIABLES,
    "confirmation": ("name", "email", "campaign", "subject"),
    "dialer": None,
}
