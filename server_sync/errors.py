"""The server's errors: one root, subclasses per failure domain."""

from __future__ import annotations


class ServerError(Exception):
    """The sync server cannot start or run (configuration, database)."""
