"""The write model: aggregates, events and rules. Pure Python on eventsourcing; no web, schema or SQL."""
