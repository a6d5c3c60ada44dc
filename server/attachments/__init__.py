"""Attachment bytes: content-addressed storage and content-based type checks (adapters, not domain)."""
