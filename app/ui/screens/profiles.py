"""Who is training: pick a profile (a PIN where it has one), add one, or train as a guest."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.errors import StorageError
from app.storage import operations as ops
from app.ui.screens.base import Screen, button


class PinDialog(QDialog):
    """Asks for a PIN (digits, hidden); ``pin`` holds it after ``accept``."""

    def __init__(self, parent: QWidget | None, name: str, note: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(f"PIN for {name}")
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"Enter the PIN of <b>{name}</b>"))
        self.field = QLineEdit()
        self.field.setEchoMode(QLineEdit.EchoMode.Password)
        self.field.setInputMask("")
        self.field.setMaxLength(12)
        self.field.setAccessibleName("PIN")
        layout.addWidget(self.field)
        layout.addLayout(self._keypad())  # a kiosk is often a touch screen without a keyboard
        self.note = QLabel(note)
        self.note.setObjectName("bad")
        layout.addWidget(self.note)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _keypad(self) -> QGridLayout:
        grid = QGridLayout()
        keys = [*"123456789", "Clear", "0", "Delete"]
        for i, key in enumerate(keys):
            b = QPushButton(key)
            b.setAccessibleName(key if not key.isdigit() else f"Digit {key}")
            b.setMinimumSize(72, 56)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # typing goes on in the field
            b.clicked.connect(lambda _c=False, k=key: self.press(k))
            grid.addWidget(b, i // 3, i % 3)
        return grid

    def press(self, key: str) -> None:
        """One key of the on-screen pad: a digit, Clear or Delete."""
        if key == "Clear":
            self.field.clear()
        elif key == "Delete":
            self.field.backspace()
        elif len(self.field.text()) < self.field.maxLength():
            self.field.insert(key)

    @property
    def pin(self) -> str:
        return self.field.text().strip()


class ProfileScreen(Screen):
    name = "profiles"
    title = "Who is training?"

    def __init__(self, context: Any, nav: Any) -> None:
        super().__init__(context, nav)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(40, 30, 40, 30)
        title = QLabel(self.title)
        title.setObjectName("title")
        layout.addWidget(title)
        self.message = QLabel("")
        self.message.setObjectName("bad")
        self.message.setAccessibleName("Sign-in message")
        layout.addWidget(self.message)
        self.grid = QGridLayout()
        self.grid.setSpacing(14)
        self.grid.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        layout.addLayout(self.grid)
        layout.addStretch(1)
        new = QLabel("New profile")
        new.setObjectName("subtitle")
        layout.addWidget(new)
        form = QHBoxLayout()
        self.new_name = QLineEdit()
        self.new_name.setPlaceholderText("New profile's name")
        self.new_name.setAccessibleName("New profile name")
        self.new_pin = QLineEdit()
        self.new_pin.setPlaceholderText("PIN (optional, 4+ digits)")
        self.new_pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.new_pin.setAccessibleName("New profile PIN")
        self.new_unit = QComboBox()
        self.new_unit.addItems(["kg", "lb"])
        self.new_unit.setAccessibleName("New profile unit")
        add = button("&Add profile", primary=True, tip="Create the profile and sign in")
        add.clicked.connect(self._add)
        self.new_name.returnPressed.connect(self._add)
        for w in (self.new_name, self.new_pin, self.new_unit, add):
            form.addWidget(w)
        layout.addLayout(form)
        self.buttons: dict[str, Any] = {}

    def entered(self, payload: Any = None) -> None:
        self.context.member.sign_out()
        self.message.setText("")
        self._fill()

    def _fill(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item is not None and item.widget() is not None:
                item.widget().deleteLater()  # type: ignore[union-attr]
        self.buttons = {}
        profiles = ops.list_profiles(self.context.db)
        for i, p in enumerate(profiles):
            b = button(
                p.name + ("  (PIN)" if p.has_pin else ""),
                name=f"Sign in as {p.name}",
                tip=f"{p.kind}, {p.unit}",
            )
            b.setObjectName("card")
            b.clicked.connect(lambda _c=False, n=p.name: self.choose(n))
            self.grid.addWidget(b, i // 4, i % 4)
            self.buttons[p.name] = b
        if not self.context.options.kiosk:
            guest = button("Guest (nothing saved)", name="Train as a guest")
            guest.setObjectName("card")
            guest.clicked.connect(lambda: self.choose(None))
            self.grid.addWidget(guest, len(profiles) // 4, len(profiles) % 4)
            self.buttons[""] = guest
        first = next(iter(self.buttons.values()), None)
        if first is not None:
            first.setFocus(Qt.FocusReason.OtherFocusReason)

    def choose(self, name: str | None, pin: str | None = None) -> bool:
        """Sign in as ``name`` (None: a guest); asks for the PIN unless given. True when signed in."""
        if name is None:
            self.context.member.sign_out()
            self.nav.go("home")
            return True
        if pin is None and ops.needs_pin(self.context.db, name):
            dialog = PinDialog(self, name)
            if dialog.exec() != QDialog.DialogCode.Accepted:
                return False
            pin = dialog.pin
        try:
            ops.check_pin(
                self.context.db, name, pin, consequence="you are not signed in", lockout=self.context.lockout
            )
        except ops.PinRequired:
            self.message.setText(f"{name} is protected by a PIN: enter it to sign in.")
            return False
        except StorageError as exc:
            self.message.setText(str(exc))
            return False
        self.context.member.sign_in(name, pin)
        self.nav.go("home")
        return True

    def _add(self) -> None:
        name, pin = self.new_name.text().strip(), self.new_pin.text().strip() or None
        try:
            ops.add_profile(self.context.db, name, pin=pin, unit=self.new_unit.currentText())
        except StorageError as exc:
            self.message.setText(str(exc))
            return
        self.new_name.clear()
        self.new_pin.clear()
        self.choose(name, pin or "")
