"""Orders: the intent, its attempts at brokers and their state machine, idempotency keys,
placement exactly once (commit, send, reconcile an unknown outcome by tag), and tracking."""
