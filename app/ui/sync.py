"""The background sync as the GUI sees it: ``BackgroundSync``'s status snapshots as a Qt signal.

The service publishes each ``SyncStatus`` on its own thread; ``AppSync`` relays it through a
queued signal, so ``status_changed`` always arrives on the GUI thread, in order. Every method only
pokes the service (a flag and an event): none waits for a sync or touches the database.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal, Slot

from app.sync.background import NOT_STARTED, BackgroundSync, SyncStatus


class AppSync(QObject):
    status_changed = Signal(object)  # SyncStatus, on the GUI thread

    _relay = Signal(object)

    def __init__(self, service: BackgroundSync) -> None:
        super().__init__()
        self.service = service
        self.status: SyncStatus = NOT_STARTED
        self._relay.connect(self._deliver, Qt.ConnectionType.QueuedConnection)
        service.subscribe(self._relay.emit)

    def start(self) -> None:
        self.service.start()

    def sync_now(self) -> None:
        """A member asked: sync as soon as possible (after the one in flight)."""
        self.service.request()

    def workout_finished(self) -> None:
        self.service.workout_finished()

    def refresh(self) -> None:
        """Ask for the status again (say, the rows waiting when a screen is shown)."""
        self.service.refresh()

    def stop(self) -> None:
        self.service.stop()

    @Slot(object)
    def _deliver(self, status: SyncStatus) -> None:
        self.status = status
        self.status_changed.emit(status)
