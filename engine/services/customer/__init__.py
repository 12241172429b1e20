"""The customer's side of our mail: tokens in outgoing mail, and what customers do with them
on the public web service (ratings, seen, unsubscribe); ratings as people read them."""
