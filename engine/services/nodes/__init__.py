"""Several engine nodes on one PostgreSQL: who is alive, and which node owns each mailbox."""
