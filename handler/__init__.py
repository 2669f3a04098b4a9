"""ticket-router: mail received by Amazon SES becomes GitHub issue comments."""

__version__ = "0.1.0"
# The name logs and metrics carry (Powertools' service).
SERVICE = "ticket-router"
