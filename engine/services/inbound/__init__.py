"""Mail coming in: the IMAP and Maildir mailbox loops, ingest (threading, automated mail,
reports), quarantine of what cannot be read, and each mailbox's health for the consoles."""
