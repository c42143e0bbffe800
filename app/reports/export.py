"""Exports of workouts, sets and reps as CSV (one file per table) or JSON (one document).

Columns (the same names in CSV headers and JSON keys; ``export.schema.json`` documents each):
workouts: id, profile, started_at, ended_at, source, utc_offset_min (the local offset in minutes
when it started: the local day it counts for).
sets: id, workout_id, exercise, position, started_at, ended_at, target_reps, achieved_reps,
clean_reps, partial_reps, load, unit, hold_s (seconds held for a timed exercise such as plank,
whose achieved_reps is 0; null for a set of reps).
reps: id, set_id, index, start_s, turn_s, end_s, eccentric_s, pause_s, concentric_s, rom_deg,
mean_speed_dps, peak_speed_dps, side, faults (JSON: a list; CSV: ids joined by ";").
Times are UTC ISO-8601; durations in seconds; angles in degrees. Tombstoned rows are left out.
Version 2 added ``utc_offset_min`` and ``hold_s``. Rows come in time order, ties broken by
position and id, so the same data exports the same on every device (and from the sync server).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from .files import written_whole

SCHEMA_PATH = Path(__file__).with_name("export.schema.json")
EXPORT_VERSION = 2
QUERIES = {
    "workouts": "SELECT w.id, p.name AS profile, w.started_at, w.ended_at, w.source, w.utc_offset_min "
    "FROM workouts w JOIN profiles p ON p.id = w.profile_id WHERE w.deleted_at IS NULL "
    "ORDER BY w.started_at, w.id",
    "sets": "SELECT id, workout_id, exercise, position, started_at, ended_at, target_reps, achieved_reps, "
    "clean_reps, partial_reps, load, unit, hold_s FROM sets WHERE deleted_at IS NULL "
    "ORDER BY started_at, position, id",
    "reps": 'SELECT r.id, r.set_id, r.idx AS "index", r.start_s, r.turn_s, r.end_s, r.eccentric_s, '
    "r.pause_s, "
    "r.concentric_s, r.rom_deg, r.mean_speed_dps, r.peak_speed_dps, r.side, r.faults FROM reps r "
    "JOIN sets s ON s.id = r.set_id WHERE r.deleted_at IS NULL "
    "ORDER BY s.started_at, s.position, s.id, r.idx",
}


def export_data(conn: Connection) -> dict[str, Any]:
    out: dict[str, Any] = {"version": EXPORT_VERSION, "exported_at": datetime.now(UTC).isoformat()}
    for name, sql in QUERIES.items():
        rows = [dict(r._mapping) for r in conn.execute(text(sql))]
        if name == "reps":
            for r in rows:
                r["faults"] = json.loads(r["faults"])
        out[name] = rows
    return out


def validate(document: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``document`` matches the published schema."""
    import jsonschema

    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))


def write_json(document: dict[str, Any], path: Path) -> int:
    validate(document)
    with written_whole(path) as part:
        part.write_text(json.dumps(document, indent=1))
    return sum(len(document[t]) for t in QUERIES)


def write_csv(document: dict[str, Any], folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    for name in QUERIES:
        rows = document[name]
        with written_whole(folder / f"{name}.csv") as part, part.open("w", newline="") as fh:
            if not rows:
                continue
            writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
            writer.writeheader()
            for r in rows:
                writer.writerow({k: ";".join(v) if isinstance(v, list) else v for k, v in r.items()})
        total += len(rows)
    return total
