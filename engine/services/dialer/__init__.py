"""The email dialer: dialers as records, their lists (CSV import) and attachments."""
