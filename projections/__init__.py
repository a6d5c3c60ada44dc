"""Read models rebuilt from the event log, and the worker that keeps them current.

Imports only the domain (and the database driver), never Flask.
"""
