"""`postdesk ctl`: scripting and provisioning over the same control API the consoles use.

With an engine running, commands go to it; with none, an engine without mail services is started
in-process for the one command, so provisioning works before the first start. `--json` prints
machine-readable output for automation.
"""

from postdesk.ctl.parser import add_ctl_parser
from postdesk.ctl.run import run_ctl

__all__ = ["add_ctl_parser", "run_ctl"]
