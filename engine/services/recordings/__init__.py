"""Recordings: every interaction kept, found again by supervisors (and agents, their own)."""
