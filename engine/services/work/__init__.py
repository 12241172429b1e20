"""The agents' work: routing mail to an agent, and what an agent does with an interaction
(read, reply, copies, drafts, close)."""
