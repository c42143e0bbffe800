"""Programs and progression: hand-worked examples."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from app.engine.events import RepDetail
from app.programs.catalog import Equipment, substitute
from app.programs.fatigue import Advice, fatigue_signal, velocity_loss
from app.programs.metrics import (
    MemberStats,
    SetSummary,
    e1rm_brzycki,
    e1rm_epley,
    form_over_time,
    leaderboard,
    new_records,
    personal_records,
    streak,
    weekly_volume,
)
from app.programs.operations import NextItem, replay
from app.programs.plans import Goal, Level, Plan, PlanRequest, Prescription, make_plan
from app.programs.progression import Action, ProgressState, advance
from app.storage import open_database
from app.storage.recorder import WorkoutRecorder

BW = frozenset({Equipment.BODYWEIGHT})
RX = Prescription("squat", sets=3, rep_lo=8, rep_hi=12, rest_s=90, load=20.0, unit="kg")


def test_double_progression_adds_load_when_every_set_tops_the_range() -> None:
    d = advance(ProgressState(RX, best_total=33), [12, 12, 12])
    assert d.action is Action.ADD_LOAD and d.state.prescription.load == 22.5 and d.state.best_total == 0


def test_pounds_go_up_by_five() -> None:
    rx = Prescription("bench_press", 3, 8, 12, 90, load=135.0, unit="lb")
    assert advance(ProgressState(rx), [12, 12, 12]).state.prescription.load == 140.0


def test_more_reps_keeps_the_load_and_resets_stalls() -> None:
    d = advance(ProgressState(RX, stalls=2, best_total=30), [12, 11, 10])  # 33 > 30
    assert d.action is Action.ADD_REPS and d.state.best_total == 33 and d.state.stalls == 0
    assert d.state.prescription.load == 20.0


def test_three_stalls_deload_ten_percent_rounded_to_the_plate() -> None:
    state = ProgressState(replace_load(RX, 52.5), best_total=30)
    actions = []
    for _ in range(3):
        d = advance(state, [10, 10, 10])  # 30, not better than 30
        actions.append(d.action)
        state = d.state
    assert actions == [Action.STALLED, Action.STALLED, Action.DELOAD]
    assert state.prescription.load == 45.0  # 52.5 * 0.9 = 47.25 -> 45.0 (multiples of 2.5 below)
    assert state.stalls == 0


def replace_load(rx: Prescription, load: float) -> Prescription:
    from dataclasses import replace

    return replace(rx, load=load)


def test_bodyweight_raises_the_range() -> None:
    rx = Prescription("push_up", 3, 8, 12, 60)
    d = advance(ProgressState(rx), [12, 13, 12])
    assert d.action is Action.RAISE_RANGE and (d.state.prescription.rep_lo, d.state.prescription.rep_hi) == (
        10,
        14,
    )


def test_a_hold_progresses_on_seconds_held() -> None:
    rx = Prescription("plank", 3, 20, 40, 60)  # 3 holds of 20-40 s
    worked = [
        ([25, 22, 20], "add_reps", (20, 40)),  # first session: the best so far
        ([41, 40, 43], "raise_range", (25, 45)),  # every hold reached 40 s: five seconds more
        ([30, 28, 25], "add_reps", (25, 45)),
        ([30, 28, 25], "stalled", (25, 45)),
        ([29, 28, 25], "stalled", (25, 45)),
        ([30, 27, 25], "deload", (20, 40)),  # the third stall in a row
    ]
    for i in range(1, len(worked) + 1):
        d = replay(rx, [(held, None) for held, *_ in worked[:i]], hold=True)
        _, action, (lo, hi) = worked[i - 1]
        assert (
            d is not None
            and d.action == action
            and (d.state.prescription.rep_lo, d.state.prescription.rep_hi) == (lo, hi)
        )
    assert d is not None and d.note == "deload: aim for 20-40 s held"


def test_replay_picks_up_the_first_logged_load() -> None:
    rx = Prescription("squat", 3, 8, 12, 90, unit="kg")
    d = replay(rx, [([10, 9, 8], 40.0), ([12, 12, 12], 40.0)])
    assert d is not None and d.action is Action.ADD_LOAD and d.state.prescription.load == 42.5


def test_velocity_loss_hand_worked() -> None:
    speeds = [100.0, 104.0, 98.0, 90.0, 78.0, 70.0]
    assert velocity_loss(speeds) == pytest.approx(1 - 70 / 104)  # 32.7 % off the fastest
    assert velocity_loss(speeds[:4]) == pytest.approx(1 - 90 / 104)  # 13.5 %
    assert fatigue_signal(speeds[:4]).advice is Advice.CONTINUE
    assert fatigue_signal(speeds[:5]).advice is Advice.NEAR_LIMIT  # 25 %
    signal = fatigue_signal(speeds, target_reps=8)
    assert signal.advice is Advice.END_SET and signal.reduce_load
    assert velocity_loss([50.0]) == 0.0


def test_e1rm_hand_worked() -> None:
    assert e1rm_epley(100, 5) == pytest.approx(116.6667, abs=1e-3)  # 100 * (1 + 5/30)
    assert e1rm_brzycki(100, 5) == pytest.approx(112.5)  # 100 * 36 / 32
    assert e1rm_epley(100, 1) == 100


def test_streak_counts_until_yesterday() -> None:
    days = [date(2025, 3, d) for d in (1, 2, 3, 5, 6, 7, 8, 10, 11)]
    s = streak(days, today=date(2025, 3, 12))
    assert (s.current, s.longest) == (2, 4)
    assert streak(days, today=date(2025, 3, 13)).current == 0


def test_weekly_volume_converts_pounds() -> None:
    sets = [
        SetSummary("squat", date(2025, 3, 3), 10, 10, 20.0, "kg"),  # Monday: 200 kg
        SetSummary("squat", date(2025, 3, 9), 10, 8, 100.0, "lb"),  # Sunday, same week: 453.59 kg
        SetSummary("push_up", date(2025, 3, 10), 20, 20),  # next Monday, bodyweight: reps only
    ]
    weeks = weekly_volume(sets)
    assert [(w.week, w.reps, w.volume_kg) for w in weeks] == [
        (date(2025, 3, 3), 20, 653.592),
        (date(2025, 3, 10), 20, 0.0),
    ]


def test_personal_records_and_new_records() -> None:
    sets = [
        SetSummary("squat", date(2025, 1, 1), 5, 5, 100.0, "kg"),
        SetSummary("squat", date(2025, 1, 2), 8, 8, 90.0, "kg"),
    ]
    best = personal_records(sets)
    assert best["squat", "max_reps"].value == 8
    assert best["squat", "max_load"].value == 100
    assert best["squat", "e1rm_epley"].value == 116.67  # 100x5 (116.67) beats 90x8 (114.0)
    found = new_records(
        {k: r.value for k, r in best.items()}, SetSummary("squat", date(2025, 1, 3), 3, 3, 110.0, "kg")
    )
    assert {r.kind for r in found} == {"max_load", "e1rm_epley", "e1rm_brzycki"}  # 121.0 and 121.94


def test_form_over_time() -> None:
    sets = [SetSummary("squat", date(2025, 1, 1), 10, 5), SetSummary("squat", date(2025, 1, 1), 10, 10)]
    assert form_over_time(sets) == {"squat": [(date(2025, 1, 1), 0.75)]}


def test_leaderboard_ranks_and_ties() -> None:
    members = [
        MemberStats("ann", reps=100, clean_reps=90, volume_kg=1000, streak=3),
        MemberStats("bob", reps=120, clean_reps=60, volume_kg=500, streak=3),
        MemberStats("cy", reps=100, clean_reps=100, volume_kg=0, streak=9),
    ]
    assert [(r, m.name) for r, m in leaderboard(members, by="reps")] == [(1, "bob"), (2, "ann"), (2, "cy")]
    # form-weighted: ann 90 + 5 = 95, bob 60 + 30 = 90, cy 100
    assert [m.name for _, m in leaderboard(members, by="form")] == ["cy", "ann", "bob"]
    assert [(r, m.name) for r, m in leaderboard(members, by="streak")] == [(1, "cy"), (2, "ann"), (2, "bob")]
    with pytest.raises(ValueError):
        leaderboard(members, by="charisma")


def test_plans_follow_goal_level_equipment_and_days() -> None:
    plan = make_plan(PlanRequest(Goal.STRENGTH, Level.ADVANCED, frozenset({Equipment.BARBELL}), 4))
    assert [d.name for d in plan.days] == ["Day 1: Lower", "Day 2: Upper", "Day 3: Lower", "Day 4: Upper"]
    squat = plan.days[0].items[0]
    assert (squat.exercise, squat.sets, squat.rep_lo, squat.rep_hi, squat.unit) == ("squat", 6, 3, 6, "kg")
    home = make_plan(PlanRequest(Goal.ENDURANCE, Level.BEGINNER, BW, 3))
    exercises = {p.exercise for d in home.days for p in d.items}
    assert "bench_press" not in exercises and "push_up" in exercises
    assert any("no pull exercise" in n for n in home.notes)
    assert Plan.from_json(home.to_json()) == home


def test_substitutions() -> None:
    assert substitute("bench_press", BW) == "push_up"
    assert substitute("bench_press", frozenset({Equipment.DUMBBELLS})) == "bench_press"
    assert substitute("pull_up", BW) is None


# ------------------------------------------------------------------- next session, progress
def _program_db(tmp_path: Path, goal: str = "strength", equipment: str = "barbell") -> None:
    from app.cli import main

    args = ["--data-dir", str(tmp_path), "program", "new", "--profile", "Ana", "--goal", goal]
    assert main([*args, "--equipment", equipment, "--days", "3"]) == 0


def test_next_hints_a_load_only_for_loaded_exercises(tmp_path: Path) -> None:
    from app.programs.operations import plan_next

    def first_day(data: Path, equipment: str) -> dict[str, NextItem]:
        _program_db(data, goal="general", equipment=equipment)
        with open_database(data) as db, db.read() as conn:
            plan, created = _active(conn, "Ana")
            day, items = plan_next(conn, plan, created, "Ana")
        assert day.name == "Day 1: Full body A"
        return {i.prescription.exercise: i for i in items}

    gym = first_day(tmp_path / "gym", "dumbbells")
    assert set(gym) == {"squat", "bench_press", "shrug", "plank"}
    assert all("pick a load" in gym[ex].note for ex in ("squat", "bench_press", "shrug"))
    home = first_day(tmp_path / "home", "bodyweight")
    assert set(home) == {"squat", "push_up", "plank"}  # no pull exercise without a bar
    for item in (*home.values(), gym["plank"]):
        assert "load" not in item.note and item.load == ""
    assert home["push_up"].note == "first session: aim for 8-15 reps per set"
    assert home["squat"].note == "first session: aim for 8-15 reps per set"  # no weights at home
    plank = home["plank"]
    assert plank.hold and plank.target == "2 x 20-60 s"
    assert plank.note.startswith("first session: hold 20-60 s")


def _log(db: object, when: str, sets: list[tuple[str, float | None, int]]) -> int | None:
    """One saved workout at ``when`` (UTC): (exercise, load, reps) per set; its program session."""
    r = WorkoutRecorder(db, "Ana", started_at=f"{when}+00:00")  # type: ignore[arg-type]
    for ex, load, reps in sets:
        r.start_set(ex, load=load, unit="kg")
        for i in range(1, reps + 1):
            r.rep(RepDetail(i, 0, 1, 2, 1, 0.1, 0.9, 90.0, 100.0, 150.0))
        r.finish_set()
    r.finish()
    return r.program_session


def test_saved_workouts_are_sessions_of_the_active_program(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from app.cli import main
    from app.programs.operations import program_progress

    _program_db(tmp_path)  # strength, barbell: A = squat, bench_press, shrug, plank; B = deadlift, ...
    with open_database(tmp_path) as db:
        db.writer.call(
            lambda c: c.exec_driver_sql("UPDATE programs SET created_at = '2025-03-01T00:00:00+00:00'")
        )
        assert _log(db, "2025-02-28T12:00:00", [("squat", 60.0, 6)]) is None  # before the program began
        # Monday: squat (planned in session 0, Day 1) with push-ups (not planned): session 0
        assert _log(db, "2025-03-10T12:00:00", [("push_up", None, 10)] + [("squat", 60.0, 6)] * 3) == 0
        # Tuesday: squats again, but the next session is Day 2 (no squat): extra training, not a session
        assert _log(db, "2025-03-11T12:00:00", [("squat", 60.0, 3)] * 3) is None
        # Wednesday: deadlift is planned in Day 2: session 1; a second clip the same day joins it
        assert _log(db, "2025-03-12T12:00:00", [("deadlift", 100.0, 5)] * 3) == 1
        assert _log(db, "2025-03-12T12:30:00", [("shoulder_press", 30.0, 5)] * 3) == 1
        with db.read() as conn:
            progress = program_progress(conn, "Ana", today=date(2025, 3, 13))
    assert progress is not None
    assert (progress.sessions_done, progress.sessions_planned) == (2, 3)
    assert progress.next_day == "Day 3: Full body A"
    by_ex = {i.prescription.exercise: i for i in progress.items}
    # progression from session 0's squats only (6 >= top of 3-6 in every set): 60 -> 62.5
    assert by_ex["squat"].load == "62.5 kg" and "add 2.5 kg" in by_ex["squat"].note
    assert "pick a load" in by_ex["bench_press"].note  # not logged yet
    assert by_ex["plank"].load == "" and "load" not in by_ex["plank"].note
    capsys.readouterr()
    assert main(["--data-dir", str(tmp_path), "program", "next", "--profile", "Ana"]) == 0
    assert capsys.readouterr().out.startswith("Next: Day 3: Full body A")


def test_session_rule_by_hand() -> None:
    from app.programs.sessions import match_session

    plan = make_plan(PlanRequest(Goal.GENERAL, Level.BEGINNER, BW, 3))  # A: squat, push_up, plank; B: ...
    b = {rx.exercise for rx in plan.days[1].items}
    assert "squat" not in b and "lunge" in b
    assert match_session(plan, "squat", next_session=0, same_day_session=None) == 0
    assert match_session(plan, "lunge", next_session=0, same_day_session=None) is None  # not in A
    assert match_session(plan, "lunge", next_session=1, same_day_session=0) == 1  # B after A, same day
    assert match_session(plan, "plank", next_session=1, same_day_session=0) == 0  # finishing A today
    assert match_session(plan, "plank", next_session=4, same_day_session=None) is None  # B is next


def _active(conn: object, name: str) -> tuple[Plan, str]:
    from app.programs.operations import active_program

    found = active_program(conn, name)  # type: ignore[arg-type]
    assert found is not None
    return found
