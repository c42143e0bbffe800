"""Child process of the SIGKILL test: records reps forever, printing each committed rep's index."""

from __future__ import annotations

import sys

from app.engine.events import RepDetail
from app.storage import open_database
from app.storage.recorder import WorkoutRecorder


def main(data_dir: str, start: int) -> None:
    db = open_database(data_dir)
    recorder = WorkoutRecorder(db, "kill-test")
    recorder.start_set("squat", load=20.0, unit="kg")
    i = start
    while True:
        rep = RepDetail(  # start_s carries the rep's identity (reps are stored numbered within their set)
            i, float(i), 1.0, 2.0, 1.0, 0.1, 0.9, 90.0, 100.0, 150.0, faults=("knees_in",) if i % 3 else ()
        )
        recorder.rep(rep).result(timeout=10)  # committed (WAL, synchronous=FULL) before we say so
        sys.stdout.write(f"{i}\n")
        sys.stdout.flush()
        i += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
