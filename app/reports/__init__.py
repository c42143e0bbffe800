"""Printable PDF reports and CSV/JSON exports of the local history."""

from __future__ import annotations
