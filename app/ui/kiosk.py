"""The kiosk's supervisor: a crash restarts the app into the kiosk.

``spotter --kiosk`` runs the app as a child process and waits; a child that exits with a failure
(a crash, a kill) is started again after a pause, unless it failed too often in a short time (then
the supervisor gives up with the last status, so a broken install does not spin). A clean exit (an
administrator left with the admin PIN) ends the supervisor too.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections import deque

log = logging.getLogger(__name__)

CHILD_ENV = "SPOTTER_KIOSK_CHILD"
PAUSE_S = 1.0
MAX_CRASHES = 5
WINDOW_S = 60.0


def supervise(argv: list[str], *, pause_s: float = PAUSE_S, max_crashes: int = MAX_CRASHES) -> int:
    crashes: deque[float] = deque()
    command = [sys.executable, "-m", "app.cli", *argv[1:]]
    env = {**os.environ, CHILD_ENV: "1"}
    while True:
        code = subprocess.call(command, env=env)
        if code == 0:
            return 0
        now = time.monotonic()
        crashes.append(now)
        while crashes and now - crashes[0] > WINDOW_S:
            crashes.popleft()
        if len(crashes) >= max_crashes:
            print(
                f"spotter: the kiosk failed {len(crashes)} times in {WINDOW_S:.0f} s (last status {code}); "
                "not restarting. See spotter.log in the data folder.",
                file=sys.stderr,
            )
            return code
        print(f"spotter: the kiosk stopped (status {code}); restarting", file=sys.stderr)
        time.sleep(pause_s)
