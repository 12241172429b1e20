"""The people at the consoles: presence and status (breaks, supervisors pausing or logging
out an agent), chat between supervisors and agents, and break reasons."""
