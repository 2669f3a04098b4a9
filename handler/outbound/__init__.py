"""What GitHub said, turned into mail, without I/O: webhook requests, events, update mails,
notices, unsubscribe links, SES feedback and the participants they go to."""
