"""The public web service (`postdesk web`): the only part of Postdesk reachable from the
internet. It serves token routes alone (rating pages, the tracking image, unsubscribe) and
never the control API; it writes through `engine.services.customer` into the shared database."""
