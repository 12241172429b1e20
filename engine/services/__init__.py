"""The engine's services, grouped by capability so a folder name answers "where":

- `inbound/`: mailbox loops, ingest, quarantine, mailbox health;
- `outbound/`: agents' mail, confirmations, the outbox;
- `work/`: routing and what an agent does with an interaction;
- `people/`: presence and status, supervisors' actions on agents, chat, break reasons;
- `admin/`: users, campaigns, members, templates, connection tests;
- `queries.py`: the read models every screen is drawn from;
- `notify.py`: every event, published after its transaction commits.
"""
