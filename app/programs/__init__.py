"""Training programs and progression: pure functions of plain data, no I/O."""

from __future__ import annotations
