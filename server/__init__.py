"""Pantau: event-sourced field reporting for an election commission.

Kept import-light on purpose: the projection worker imports ``server.domain`` without Flask.
"""
