"""How long a test waits for a condition before it fails.

Only a failing test ever waits this long, so it is generous: on a loaded machine (a full
`make test` beside other work) a console that loads in a second can take twenty, and a test
that timed out then was flaky, not wrong. Waits are on conditions (`until`, `settle`,
`eventually`, the SMTP sink's `await_count`); this is only their limit.
"""

PATIENCE = 60.0  # seconds
