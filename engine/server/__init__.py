"""The control API server: the Unix-socket listener, who the caller is, and the routes, split
by audience (agent, supervisor, admin) plus the event stream. Routes check the role, decode,
make one service call and encode; the rules live in `engine.services` and `engine.domain`."""
