"""The orchestration: the inbound Receiver, the webhook, the outbox and replay, each a list of
named steps over the core and the interfaces the adapters implement."""
