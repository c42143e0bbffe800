"""Spotter's sync server: FastAPI over PostgreSQL (embedded by default), ``spotter-sync`` commands."""

from __future__ import annotations
