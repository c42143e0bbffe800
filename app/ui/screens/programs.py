"""The program builder: make a plan for the signed-in member, edit it day by day, save it as the
active program, and see what progression prescribes for the next session.

The screen only renders: plans come from ``make_plan`` (pure) and every read and write of the
database goes through ``app.programs.operations`` in a background job.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from app.programs import operations as ops
from app.programs.catalog import CATALOG, Equipment
from app.programs.plans import DayPlan, Goal, Level, Plan, PlanRequest, Prescription, make_plan
from app.ui import theme
from app.ui.context import AppContext
from app.ui.screens.base import Navigator, Screen, button, describe_error
from app.ui.widgets import forms
from app.ui.widgets.forms import Problem, ProblemLabel, ThemedScrollArea

COLUMNS = ("#", "Exercise", "Sets", "Reps from", "Reps to", "Load", "Rest", "")


def exercise_name(ex_id: str) -> str:
    return ex_id.replace("_", " ").capitalize()


def exercise_id(text: str) -> str | None:
    """The catalogue id typed or chosen as ``text`` ("Push up", "push_up"), or None."""
    key = text.strip().lower().replace(" ", "_").replace("-", "_")
    return key if key in CATALOG else None


def prescription_problems(rx: Prescription) -> list[tuple[str, str]]:
    """What makes ``rx`` unusable, as (field, why) pairs (Qt-free; it belongs beside ``Prescription``)."""
    found = (
        []
        if rx.exercise in CATALOG
        else [("exercise", "not an exercise Spotter knows; pick one in the list")]
    )
    if rx.sets < 1:
        found.append(("sets", "needs at least 1 set"))
    if rx.rep_lo < 1:
        found.append(("rep_lo", "needs reps from 1 up"))
    if rx.rep_lo > rx.rep_hi:
        found.append(("rep_lo", f"reps from ({rx.rep_lo}) is above reps to ({rx.rep_hi})"))
    return found


class ExerciseRow:
    """The inputs of one prescription in a day's table."""

    def __init__(self, rx: Prescription, unit: str) -> None:
        self.unit = rx.unit or unit  # a load is in the plan's unit
        self.number = QLabel()
        self.exercise = forms.combo(((exercise_name(e), e) for e in CATALOG), name="Exercise", editable=True)
        self.sets = forms.spin(0, 20, name="Sets")
        self.rep_lo = forms.spin(0, 600, name="Reps from")
        self.rep_hi = forms.spin(0, 600, name="Reps to")
        self.load = forms.dspin(0, 1000, name="Load", step=2.5, none_text="none")
        self.load.setSuffix(f" {self.unit}")
        self.load.setToolTip("none: bodyweight, or pick the load at the first session")
        self.rest = forms.spin(0, 900, name="Rest", suffix=" s")
        self.up, self.down, self.remove = (forms.small_button(t, n) for t, n in ROW_ACTIONS)
        self.exercise.currentTextChanged.connect(self._exercise_changed)
        forms.select_value(self.exercise, rx.exercise)
        self.sets.setValue(rx.sets)
        self.rep_lo.setValue(rx.rep_lo)
        self.rep_hi.setValue(rx.rep_hi)
        self.load.setValue(rx.load or 0.0)
        self.rest.setValue(rx.rest_s)
        self._exercise_changed(self.exercise.currentText())

    @property
    def inputs(self) -> tuple[QWidget, ...]:
        return (self.exercise, self.sets, self.rep_lo, self.rep_hi, self.load, self.rest)

    @property
    def widgets(self) -> tuple[QWidget, ...]:
        return (self.number, *self.inputs, self.up, self.down, self.remove)

    def name(self, day: str, index: int) -> None:
        """Number the row and name its inputs after it (what a screen reader says)."""
        self.number.setText(f"{index}.")
        for w, field in zip(self.inputs, COLUMNS[1:], strict=False):
            w.setAccessibleName(f"{field}, {day} exercise {index}")
        what = self.exercise.currentText() or "new exercise"
        for b, (_text, verb) in zip((self.up, self.down, self.remove), ROW_ACTIONS, strict=True):
            b.setAccessibleName(f"{verb}: {what}, {day} exercise {index}")

    def prescription(self) -> Prescription:
        text = self.exercise.currentText()
        ex = exercise_id(text)
        load = self.load.value() or None
        unit = self.unit if load is not None or (ex is not None and CATALOG[ex].loaded) else None
        return Prescription(ex or text.strip(), self.sets.value(), self.rep_lo.value(), self.rep_hi.value(),
                            self.rest.value(), load, unit)  # fmt: skip

    def _exercise_changed(self, text: str) -> None:
        ex = exercise_id(text)
        suffix = " s" if ex is not None and CATALOG[ex].hold else ""  # a hold is prescribed in seconds
        self.rep_lo.setSuffix(suffix)
        self.rep_hi.setSuffix(suffix)


ROW_ACTIONS = (("▲", "Move up"), ("▼", "Move down"), ("✕", "Remove"))


class DayEditor(QWidget):
    """One day of the plan as an editable table: a row of inputs per exercise."""

    def __init__(self, day: DayPlan, unit: str) -> None:
        super().__init__()
        self.day_name = day.name
        self.short = day.name.split(":")[0]  # "Day 1"
        self.unit = unit
        self.add = button("Add exercise", name=f"Add an exercise to {day.name}", tip="A new row at the end")
        self.add.clicked.connect(self._add_clicked)
        frame, layout = forms.panel(day.name, action=self.add)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(frame)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(8)
        for col, text in enumerate(COLUMNS):
            head = QLabel(text)
            head.setObjectName("muted")
            self.grid.addWidget(head, 0, col)
        self.grid.setColumnStretch(1, 1)
        layout.addLayout(self.grid)
        self.rows: list[ExerciseRow] = []
        for rx in day.items:
            self._append(ExerciseRow(rx, unit))
        self.relayout()

    def _append(self, row: ExerciseRow) -> None:
        row.up.clicked.connect(lambda: self.move_row(row, -1))
        row.down.clicked.connect(lambda: self.move_row(row, 1))
        row.remove.clicked.connect(lambda: self.remove_row(row))
        row.exercise.currentTextChanged.connect(lambda _t: self._rename())
        self.rows.append(row)

    def _add_clicked(self) -> None:
        row = ExerciseRow(Prescription("squat", 3, 8, 12, 90, unit=self.unit), self.unit)
        self._append(row)
        self.relayout()
        row.exercise.setFocus()

    def move_row(self, row: ExerciseRow, delta: int) -> None:
        i = self.rows.index(row)
        j = i + delta
        if 0 <= j < len(self.rows):
            self.rows[i], self.rows[j] = self.rows[j], self.rows[i]
            self.relayout()
            (row.up if delta < 0 and j > 0 else row.down if j < len(self.rows) - 1 else row.remove).setFocus()

    def remove_row(self, row: ExerciseRow) -> None:
        i = self.rows.index(row)
        self.rows.pop(i)
        for w in row.widgets:
            self.grid.removeWidget(w)
            w.deleteLater()
        self.relayout()
        (self.rows[min(i, len(self.rows) - 1)].remove if self.rows else self.add).setFocus()

    def _rename(self) -> None:
        for r, row in enumerate(self.rows, start=1):
            row.name(self.short, r)

    def relayout(self) -> QWidget:
        """Put each row in its cell, the Tab order in reading order after the Add button; the last
        widget Tab reaches."""
        self._rename()
        previous: QWidget = self.add
        for r, row in enumerate(self.rows, start=1):
            row.up.setEnabled(r > 1)
            row.down.setEnabled(r < len(self.rows))
            for col, w in enumerate(row.widgets):
                self.grid.addWidget(w, r, col)  # re-adding moves the widget to its new cell
                if w.focusPolicy() != Qt.FocusPolicy.NoFocus:
                    QWidget.setTabOrder(previous, w)
                    previous = w
        return previous

    def collect(self) -> tuple[DayPlan, list[Problem]]:
        """The day as edited, and what is wrong with it."""
        items = [row.prescription() for row in self.rows]
        problems: list[Problem] = []
        for r, (row, rx) in enumerate(zip(self.rows, items, strict=True), start=1):
            for field, why in prescription_problems(rx):
                text = f"{self.short}, row {r} ({row.exercise.currentText() or 'no exercise'}): {why}."
                problems.append(Problem(text, getattr(row, field)))
        if not self.rows:
            problems.append(Problem(f"{self.short} has no exercises: add one or generate again.", self.add))
        return DayPlan(self.day_name, tuple(items)), problems


class ProgramBuilderScreen(Screen):
    """Generate, edit and save the signed-in member's program; the next session beside it."""

    name = "programs"
    title = "Program"

    plan_saved = Signal(str)  # the stored program's id
    next_session_shown = Signal(object)  # the NextSession rendered, or None

    def __init__(self, context: AppContext, nav: Navigator) -> None:
        super().__init__(context, nav)
        self._request: PlanRequest | None = None
        self._notes: tuple[str, ...] = ()
        self.days: list[DayEditor] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(24, 16, 24, 16)
        self.subtitle = self.heading(layout, self.title)
        self.signed_out = forms.note("Sign in first: a program belongs to a member, and it moves on with "
                                     "their workouts.", muted=False)  # fmt: skip
        layout.addWidget(self.signed_out)
        self.body = QWidget()
        layout.addWidget(self.body, 1)
        layout.addStretch(0)  # holds the note at the top while the body is hidden
        body = QVBoxLayout(self.body)
        body.setContentsMargins(0, 0, 0, 0)
        page = QWidget()  # the form, the days and the next session scroll as one page
        content = QVBoxLayout(page)
        content.setContentsMargins(0, 0, 8, 0)
        content.addWidget(self._request_panel())
        self.columns = QBoxLayout(QBoxLayout.Direction.LeftToRight)
        content.addLayout(self.columns)
        content.addStretch(1)
        self.holder = QWidget()
        self.days_box = QVBoxLayout(self.holder)
        self.days_box.setContentsMargins(0, 0, 0, 0)
        self.empty = forms.note("No plan yet: choose above and press Generate.")
        self.days_box.addWidget(self.empty)
        self.columns.addWidget(self.holder, 2, Qt.AlignmentFlag.AlignTop)
        self.columns.addWidget(self._next_panel(), 1, Qt.AlignmentFlag.AlignTop)
        body.addWidget(ThemedScrollArea(page, name="Program", horizontal=True), 1)
        self.problems = ProblemLabel("Problems with the plan")
        body.addWidget(self.problems)
        self.discard = button("&Discard changes", tip="Show the saved program again")
        self.discard.clicked.connect(self.reload)
        self.save = button("&Save as my program", primary=True, tip="Store this plan as the active program")
        self.save.clicked.connect(self.save_plan)
        actions, self.status = forms.action_bar(self.discard, self.save)
        body.addLayout(actions)
        context.member.changed.connect(self._member_changed)
        self._show_member()

    def _request_panel(self) -> QWidget:
        frame, layout = forms.panel("Make a plan")
        row = QHBoxLayout()
        self.goal = forms.combo(((g.value.capitalize(), g.value) for g in Goal), name="Goal")
        self.level = forms.combo(((v.value.capitalize(), v.value) for v in Level), name="Level")
        self.days_per_week = forms.spin(1, 7, name="Days per week", tip="Training days a week (1 to 7)")
        self.days_per_week.setValue(3)
        self.unit = forms.combo((("kg", "kg"), ("lb", "lb")), name="Unit")
        forms.select_value(self.unit, self.context.settings.unit)
        for text, w in (("&Goal", self.goal), ("&Level", self.level), ("Da&ys a week", self.days_per_week),
                        ("U&nit", self.unit)):  # fmt: skip
            row.addWidget(forms.label_for(text, w))
            row.addWidget(w, 1)
            row.addSpacing(12)
        layout.addLayout(row)
        kit = QHBoxLayout()
        kit.addWidget(QLabel("Equipment:"))
        self.equipment: dict[Equipment, QCheckBox] = {}
        for e in Equipment:
            self.equipment[e] = forms.check(
                e.value.replace("_", "-").capitalize(), name=f"Equipment: {e.value}"
            )
            kit.addWidget(self.equipment[e])
        self.equipment[Equipment.BODYWEIGHT].setChecked(True)
        kit.addStretch(1)
        self.generate = button("&Generate", tip="Make a plan for these choices (saved only when you save it)")
        self.generate.clicked.connect(self.generate_plan)
        kit.addWidget(self.generate)
        layout.addLayout(kit)
        self.notes = forms.note("")
        layout.addWidget(self.notes)
        return frame

    def _next_panel(self) -> QWidget:
        frame, layout = forms.panel("Next session")
        self.next_day = forms.note("", muted=False)
        layout.addWidget(self.next_day)
        self.next_items = QVBoxLayout()
        self.next_items.setSpacing(4)
        layout.addLayout(self.next_items)
        layout.addStretch(1)
        self.next_hint = forms.note("")
        layout.addWidget(self.next_hint)
        return frame

    # ------------------------------------------------------------------ flow
    def entered(self, payload: Any = None) -> None:
        self.reload()

    def _member_changed(self, _name: object) -> None:
        self.reload()

    def _show_member(self) -> None:
        member = self.context.member.name
        self.signed_out.setVisible(member is None)
        self.body.setVisible(member is not None)
        self.subtitle.setText(f"{member}'s program" if member else "Nobody is signed in.")
        if member is None:
            self._set_plan(None)
            self._show_next(None)

    def reload(self) -> None:
        """Show the member's saved program (or nothing) and its next session."""
        self._show_member()
        member = self.context.member.name
        if member is None:
            return
        db = self.context.db

        def read() -> tuple[Plan | None, ops.NextSession | None]:
            plan = ops.active_plan(db, member)
            return plan, (ops.next_session(db, member) if plan is not None else None)

        def done(found: tuple[Plan | None, ops.NextSession | None]) -> None:
            if self.context.member.name == member:
                self._set_plan(found[0])
                self._show_next(found[1])

        self.context.jobs.submit(read, done, self._failed)

    def generate_plan(self) -> None:
        equipment = frozenset(e for e, box in self.equipment.items() if box.isChecked())
        goal, level = Goal(self.goal.currentData()), Level(self.level.currentData())
        days, unit = self.days_per_week.value(), str(self.unit.currentData())
        self._set_plan(make_plan(PlanRequest(goal, level, equipment, days, unit)))
        self.status.setText("A new plan: edit it if you like, then save it as your program.")

    def plan(self) -> tuple[Plan | None, list[Problem]]:
        """The plan as edited (None before one is made or loaded), and its problems."""
        if self._request is None:
            return None, []
        collected = [editor.collect() for editor in self.days]
        problems = [p for _day, found in collected for p in found]
        return Plan(self._request, tuple(day for day, _p in collected), self._notes), problems

    def save_plan(self) -> None:
        """Store the edited plan as the member's active program, unless something in it is wrong."""
        member = self.context.member.name
        plan, problems = self.plan()
        self.problems.show_problems(problems)
        self.status.setText("")
        if member is None or plan is None or problems:
            return
        db = self.context.db

        def store() -> tuple[str, ops.NextSession]:
            return ops.save_plan(db, member, plan), ops.next_session(db, member)

        def done(result: tuple[str, ops.NextSession]) -> None:
            self.status.setText(f"Saved as {member}'s program.")
            self._show_next(result[1])
            self.plan_saved.emit(result[0])

        self.context.jobs.submit(store, done, self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.status.setText("")
        self.problems.show_problems([Problem(describe_error(exc, doing="Reading or saving the program"))])

    # ------------------------------------------------------------------ rendering
    def _set_plan(self, plan: Plan | None) -> None:
        self.problems.clear_problems()
        self.status.setText("")
        for editor in self.days:
            self.days_box.removeWidget(editor)
            editor.deleteLater()
        self.days = []
        self._request = None if plan is None else plan.request
        self._notes = () if plan is None else plan.notes
        self.empty.setVisible(plan is None)
        self.save.setEnabled(plan is not None)
        self.notes.setVisible(bool(self._notes))
        self.notes.setText("\n".join(self._notes))
        if plan is None:
            return
        r = plan.request
        forms.select_value(self.goal, r.goal.value)
        forms.select_value(self.level, r.level.value)
        self.days_per_week.setValue(r.days_per_week)
        forms.select_value(self.unit, r.unit)
        for e, box in self.equipment.items():
            box.setChecked(e in r.equipment)
        previous: QWidget = self.generate
        for i, day in enumerate(plan.days):
            editor = DayEditor(day, r.unit)
            self.days_box.insertWidget(i, editor)
            self.days.append(editor)
            QWidget.setTabOrder(previous, editor.add)
            previous = editor.relayout()
        QWidget.setTabOrder(previous, self.discard)
        QWidget.setTabOrder(self.discard, self.save)
        QTimer.singleShot(0, self._arrange)  # once the new rows are polished and sized

    def _show_next(self, session: ops.NextSession | None) -> None:
        forms.clear(self.next_items)
        if session is None:
            self.next_day.setText("No saved program yet.")
            self.next_hint.setText("Save a plan as your program to see what your next session asks for.")
        else:
            self.next_day.setText(session.day.name)
            self.next_hint.setText("Targets move on as you finish sessions: more reps, then more load.")
            for item in session.items:
                load = f" @ {item.load}" if item.load else ""
                head = QLabel(f"{exercise_name(item.prescription.exercise)}: {item.target}{load}")
                head.setStyleSheet("font-weight: 600;")
                self.next_items.addSpacing(8)
                head.setWordWrap(True)
                self.next_items.addWidget(head)
                self.next_items.addWidget(forms.note(item.note))
        self.next_session_shown.emit(session)

    def next_texts(self) -> list[str]:
        """What the Next session panel says, line by line."""
        found = (self.next_items.itemAt(i) for i in range(self.next_items.count()))
        labels = [w for item in found if item is not None and isinstance(w := item.widget(), QLabel)]
        return [self.next_day.text(), *(w.text() for w in labels)]

    # ------------------------------------------------------------------ layout
    def _arrange(self) -> None:
        """The next session beside the plan where the table fits, else below it (large text)."""
        need = self.holder.minimumSizeHint().width() + round(320 * theme.scale()) + 80
        wide = self.width() >= need
        self.columns.setDirection(
            QBoxLayout.Direction.LeftToRight if wide else QBoxLayout.Direction.TopToBottom
        )

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange()
