"""Mail going out: the agents' replies, forwards and new interactions, automatic
confirmations, and the outbox that sends each message exactly once."""
