"""What an admin edits (users, campaigns, members, templates) and the connection test of a
campaign's mail servers."""
