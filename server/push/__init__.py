"""Web Push delivery: VAPID keys, the outbox store, and the dispatcher the worker runs."""
