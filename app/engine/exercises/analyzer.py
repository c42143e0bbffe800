"""ExerciseAnalyzer: poses in, typed events out, for one exercise. Pure: no threads, no I/O.

For each frame the analyzer measures the exercise's signal (per side), gates it by posture and
visibility, and feeds the rep counters. Sides that move independently (alternating curls, side
lunges) get a counter each; a rep seen on both sides at the same time is one rep. Completed reps
are timed, measured and checked against the form rules; partial reps are reported apart.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

import numpy as np

from app.engine.events import (
    Event,
    FormFault,
    HoldEnded,
    HoldStarted,
    PartialRep,
    RepCounted,
    RepDetail,
    RepHeld,
    SetFinished,
    SetStarted,
)
from app.engine.pose.types import Float32Array, Pose

from . import features as feat
from . import form
from .channels import Channel, ChannelSet
from .consistency import SetJudge, Shape, joint_profile
from .counter import RepCandidate
from .holds import HoldTracker
from .signals import raw_signal
from .signature import movement_signature
from .spec import ExerciseSpec, SignalSpec

#: Without a spec, a rep sharing this much of its time with a counted one is the same movement.
PERIODIC_OVERLAP = 0.25
#: A set ends after this many seconds without a rep (or this many median rep durations).
SET_GAP_S = 8.0
#: Form rules also see this much of the rest position before a rep, seconds: where a rep starts
#: from a loaded position (a swing's backswing), that position is part of its form.
FORM_LEAD_S = 0.3


@dataclass(frozen=True, slots=True)
class _Held:
    """A rep waiting for the set's judge, measured while its frames are still kept."""

    cand: RepCandidate
    detail: RepDetail


@dataclass(slots=True)
class _Frame:
    t: float
    image: Float32Array
    world: Float32Array
    visibility: Float32Array


class ExerciseAnalyzer:
    """Counts, times and grades one exercise from a stream of poses."""

    def __init__(self, spec: ExerciseSpec, *, periodic: bool = False) -> None:
        """``periodic``: no exercise is known, every signal of ``spec`` is a peer and the counter
        follows the one that repeats (see ``channels.periodic_quality``)."""
        self.spec = spec
        self.periodic = periodic
        self.reps: list[RepDetail] = []
        self.partial_reps: list[PartialRep] = []
        self.holds: list[tuple[float, float]] = []
        self._image_size = (1, 1)
        if spec.kind == "hold":
            assert spec.hold is not None
            self._hold: HoldTracker | None = HoldTracker(spec.hold, spec.gate)
            self._channels: ChannelSet | None = None
            keep_s = 2.0
        else:
            assert spec.movement is not None
            self._hold = None
            self._channels = ChannelSet(spec, periodic=periodic)
            keep_s = spec.counting.max_rep_s + 1.0
        self._keep_s = keep_s
        self._frames: deque[_Frame] = deque()
        self._set_start: float | None = None
        self._set_first_rep = 0  # index into self.reps of the open set's first rep
        self._set_first_partial = 0
        self._last_rep_t = 0.0
        self._accepted: deque[RepCandidate] = deque(maxlen=8)  # full reps counted
        self._accepted_partials: deque[RepCandidate] = deque(maxlen=8)
        self._pending_partials: list[tuple[RepCandidate, Channel]] = []
        self._judge: SetJudge[_Held] = SetJudge()
        self._held_until = 0.0  # end of the latest rep offered to the judge

    # ------------------------------------------------------------------ streaming API
    def update(self, pose: Pose | None, t: float) -> list[Event]:
        """Feed the pose of one frame (None when nobody is visible)."""
        if pose is not None:
            self._image_size = pose.image_size
            self._frames.append(_Frame(t, pose.image, pose.world, pose.visibility))
        while self._frames and t - self._frames[0].t > self._keep_s:
            self._frames.popleft()
        events: list[Event] = []
        if self._hold is not None:
            events += self._update_hold(pose, t)
        else:
            events += self._update_reps(pose, t)
        if self._judge.pending and t - self._held_until > self._set_gap():
            events += self._close_judge(t)
        moving_t = max(self._last_rep_t, self._held_until)  # a rep the judge holds is the set going on
        if self._set_start is not None and t - moving_t > self._set_gap() and not self._mid_rep():
            events.append(self._end_set(self._last_rep_t))
        return events

    def _mid_rep(self) -> bool:
        """A rep is under way: a long hold at the bottom (or anywhere short of the rest position) is part
        of the set, not the rest after it; a rep never finished is ended by its counter's time limit."""
        return self._channels is not None and self._channels.any_in_rep()

    def _close_judge(self, t: float) -> list[Event]:
        """The movement stopped before any two movements agreed: count what was held."""
        events: list[Event] = []
        for item in self._judge.close():
            events += self._count(item, t)
        return events

    def _forget_dropped(self) -> None:
        """What the judge found was not a rep must not hide a real rep from another signal."""
        for item in self._judge.dropped:
            if item.cand in self._accepted:  # (a long run of set-up may have left the window)
                self._accepted.remove(item.cand)

    def finish(self, t: float) -> list[Event]:
        """End of stream: close the open set or hold."""
        events: list[Event] = []
        if self._channels is not None:
            for channel, cand in self._channels.finish(t):
                if cand.full:
                    events += self._on_rep(cand, channel, t)
            events += self._close_judge(t)
        events += self._flush_partials()
        if self._hold is not None:
            held = self._hold.finish(t)
            if held is not None:
                events.append(self._record_hold(held, t))
        if self._set_start is not None:
            events.append(self._end_set(self._last_rep_t))
        return events

    # ------------------------------------------------------------------ reps
    def _update_reps(self, pose: Pose | None, t: float) -> list[Event]:
        assert self._channels is not None
        track = self._last_frames(1) if pose is not None else None
        events: list[Event] = []
        for channel, cand in self._channels.update(track, t):
            if cand.full:
                events += self._on_rep(cand, channel, t)
            else:
                self._pending_partials.append((cand, channel))
        if self._pending_partials and not self._channels.any_in_rep():
            events += self._flush_partials()
        return events

    def _flush_partials(self) -> list[Event]:
        """Partial reps are reported once no counter is mid-rep: the other leg of a side lunge
        straightens while the working leg bends, and that is not a partial rep."""
        events: list[Event] = []
        for cand, channel in self._pending_partials:
            if self._overlaps(cand, self._accepted) or self._overlaps(cand, self._accepted_partials):
                continue
            if any(rep.start_t < cand.start_t < rep.end_t for rep in self._accepted):
                continue  # begins inside a counted rep: the other leg's counter-movement
            self._accepted_partials.append(cand)
            partial = PartialRep(
                t=cand.counted_t,
                exercise=self.spec.id,
                rom_deg=self._rom_deg(cand, channel, self._rep_track(cand)),
                start_s=cand.start_t,
                end_s=cand.end_t,
            )
            self.partial_reps.append(partial)
            events.append(partial)
        self._pending_partials.clear()
        return events

    def _on_rep(self, cand: RepCandidate, channel: Channel, now: float) -> list[Event]:
        # without a spec, a signal read the other way up sees each rep from turn to turn: half of
        # one rep and half of the next, which is neither
        share = PERIODIC_OVERLAP if self.periodic else 0.5
        if (
            self._overlaps(cand, self._accepted, share)
            or self._other_side_works_harder(cand, channel)
            or self._primary_disagrees(cand, channel)
        ):
            return []
        self._accepted.append(cand)
        track = self._rep_track(cand)
        back = cand.end_t - cand.bottom_exit_t
        shape = Shape(
            size=cand.depth / channel.signal.typical_rom,
            return_s=back,
            # the joints that do the work, around the turn (the start may carry set-up drift)
            profile=joint_profile(self._frames_between(cand.bottom_enter_t - back, cand.end_t)),
            clipped=cand.clipped and not self.periodic,  # without a spec it may be set-up
        )
        held = _Held(cand, self._detail(cand, channel, track))
        self._held_until = max(self._held_until, cand.end_t)
        events: list[Event] = []
        confirmed = self._judge.offer(shape, held)
        for item in confirmed:
            events += self._count(item, now)
        if not confirmed:
            held_at = (round(cand.start_t, 3), round(cand.end_t, 3))  # as RepDetail rounds them
            events.append(RepHeld(t=now, exercise=self.spec.id, start_s=held_at[0], end_s=held_at[1]))
        self._forget_dropped()
        return events

    def _count(self, held: _Held, now: float) -> list[Event]:
        """A rep the set's judge let through: numbered, announced, its faults cued."""
        cand = held.cand
        self._drop_partials_within(cand)
        events: list[Event] = []
        if self._set_start is None:
            self._set_start = cand.start_t
            self._set_first_rep = len(self.reps)
            self._set_first_partial = len(self.partial_reps)
            events.append(SetStarted(t=now, exercise=self.spec.id))
        self._last_rep_t = max(self._last_rep_t, cand.end_t)
        rep = replace(held.detail, index=len(self.reps) + 1)
        self.reps.append(rep)
        events.append(RepCounted(t=now, exercise=self.spec.id, rep=rep))
        for fault in rep.faults:
            rule = next(r for r in self.spec.form if r.id == fault)
            events.append(
                FormFault(
                    t=now,
                    exercise=self.spec.id,
                    rep_index=rep.index,
                    fault=fault,
                    cue=rule.cue,
                    severity=rule.severity,
                )
            )
        return events

    def _measures_primary(self, channel: Channel) -> bool:
        """The channel measures the primary's joints: the primary itself, or its twin in the picture
        (``channels``), which is the primary measured where the world model flattens it."""
        assert self.spec.movement is not None
        return not self.periodic and channel.signal.joints == self.spec.movement.primary.joints

    def _primary_disagrees(self, cand: RepCandidate, channel: Channel) -> bool:
        """A rep seen only by a secondary signal needs the primary one to have moved too, where
        the primary is clearly measured: bending over to pick up a bottle lowers the hips like a
        squat, but the knees barely bend. The primary itself needs no second opinion."""
        assert self.spec.movement is not None
        if self.periodic or self._measures_primary(channel):
            return False
        track = self._rep_track(cand)
        if track is None:
            return False
        raw = self._primary_raw(track, channel.side)
        finite = raw[np.isfinite(raw)]
        if finite.size < 0.7 * raw.size or finite.size < 3:
            return False
        moved = float(np.percentile(finite, 95) - np.percentile(finite, 5))
        return moved < 0.5 * self.spec.movement.primary.min_rom

    def _other_side_works_harder(self, cand: RepCandidate, channel: Channel) -> bool:
        """In a side lunge the straight leg moves a little while the working leg bends a lot:
        a rep on one side while the other side is mid-rep with a larger excursion is not a rep."""
        assert self._channels is not None
        if channel.side == "both":
            return False
        return any(
            other.index == channel.index
            and other.side != channel.side
            and other.counter.excursion > cand.depth
            for other in self._channels.channels
        )

    def _drop_partials_within(self, cand: RepCandidate) -> None:
        """A partial rep reported by a weaker signal that a cleaner one saw as a full rep."""
        for partial in [p for p in self._accepted_partials if self._overlaps(p, [cand])]:
            self._accepted_partials.remove(partial)
            self.partial_reps = [
                p for p in self.partial_reps if (p.start_s, p.end_s) != (partial.start_t, partial.end_t)
            ]

    @staticmethod
    def _overlaps(cand: RepCandidate, others: Iterable[RepCandidate], share: float = 0.5) -> bool:
        """The same movement seen by two counters (both arms, two signals) is one rep."""
        for other in others:
            overlap = min(cand.end_t, other.end_t) - max(cand.start_t, other.start_t)
            shorter = min(cand.end_t - cand.start_t, other.end_t - other.start_t)
            if overlap > share * shorter:
                return True
        return False

    def _rom_deg(self, cand: RepCandidate, channel: Channel, track: feat.Track | None) -> float | None:
        """Range of motion in degrees from the primary (angle) signal over the rep's frames."""
        assert self.spec.movement is not None
        primary = self.spec.movement.primary
        if self.periodic:  # no primary joint: the range of the signal that counted, if an angle
            return round(cand.depth, 1) if channel.signal.kind == "angle" else None
        if primary.kind == "angle" and self._measures_primary(channel):
            return round(cand.depth, 1)
        if primary.kind != "angle" or track is None:
            return None
        raw = self._primary_raw(track, channel.side)
        if not np.isfinite(raw).any():
            return None
        return round(float(np.nanmax(raw) - np.nanmin(raw)), 1)

    def _rep_track(self, cand: RepCandidate) -> feat.Track | None:
        """The kept frames of one rep (None when too few were seen to judge it)."""
        return self._frames_between(cand.start_t, cand.end_t)

    def _frames_between(self, start: float, end: float) -> feat.Track | None:
        frames = [f for f in self._frames if start <= f.t <= end]
        return self._track_of(frames) if len(frames) >= 3 else None

    def _primary_raw(self, track: feat.Track, side: str, signal: SignalSpec | None = None) -> feat.FloatArray:
        """The primary signal (or ``signal``), unoriented, of one side or the mean of both ("both")."""
        assert self.spec.movement is not None
        signal = signal or self.spec.movement.primary
        if side in feat.SIDES:
            return raw_signal(track, signal, side)
        return np.asarray(
            (raw_signal(track, signal, "left") + raw_signal(track, signal, "right")) / 2, np.float64
        )

    def _detail(self, cand: RepCandidate, channel: Channel, track: feat.Track | None) -> RepDetail:
        """The rep's timing, range and faults (its index is set when it is counted)."""
        assert self.spec.movement is not None
        first = cand.bottom_enter_t - cand.start_t
        pause = cand.bottom_exit_t - cand.bottom_enter_t
        second = cand.end_t - cand.bottom_exit_t
        if self.spec.movement.first_phase == "eccentric":
            eccentric, concentric = first, second
        else:
            eccentric, concentric = second, first
        rom = self._rom_deg(cand, channel, track)
        speed = (rom or 0.0) / max(concentric, 1e-3)
        peak = cand.peak_speed * (rom / cand.depth) if rom is not None and cand.depth > 0 else 0.0
        return RepDetail(
            index=0,
            start_s=round(cand.start_t, 3),
            turn_s=round(cand.turn_t, 3),
            end_s=round(cand.end_t, 3),
            eccentric_s=round(eccentric, 3),
            pause_s=round(pause, 3),
            concentric_s=round(concentric, 3),
            rom_deg=rom,
            mean_speed_dps=round(speed, 1),
            peak_speed_dps=round(peak, 1),
            side="" if channel.side == "both" else channel.side,
            # the rest position before the rep is part of its form (a swing's backswing)
            faults=self._faults(self._frames_between(cand.start_t - FORM_LEAD_S, cand.end_t), channel),
            signature=movement_signature(track),
        )

    def _faults(self, track: feat.Track | None, channel: Channel) -> tuple[str, ...]:
        """Form rules on the rep's frames; rules on the primary signal read the primary joints as
        the counting signal saw them (in the picture, where the world model flattened them)."""
        if not self.spec.form or track is None:
            return ()
        raw = self._primary_raw(track, "both", channel.signal if self._measures_primary(channel) else None)
        return tuple(rule.id for rule in self.spec.form if form.evaluate(rule, track, raw))

    # ------------------------------------------------------------------ holds
    def _update_hold(self, pose: Pose | None, t: float) -> list[Event]:
        assert self._hold is not None
        track = self._last_frames(1) if pose is not None else None
        change = self._hold.update(t, track)
        if change is None:
            return []
        if change == "started":
            return [HoldStarted(t=t, exercise=self.spec.id)]
        held = self._hold.last_hold
        assert held is not None
        return [self._record_hold(held, t)]

    def _record_hold(self, held: tuple[float, float], t: float) -> HoldEnded:
        self.holds.append(held)
        return HoldEnded(t=t, exercise=self.spec.id, start_s=held[0], end_s=held[1])

    # ------------------------------------------------------------------ helpers
    def _set_gap(self) -> float:
        if len(self.reps) >= 2:
            durations = [r.end_s - r.start_s for r in self.reps[-5:]]
            return max(SET_GAP_S, 3.0 * float(np.median(durations)))
        return SET_GAP_S

    def _end_set(self, t: float) -> SetFinished:
        assert self._set_start is not None
        start = self._set_start
        reps = len(self.reps) - self._set_first_rep
        partial = max(0, len(self.partial_reps) - self._set_first_partial)
        self._set_start = None
        self._judge.reset()
        return SetFinished(
            t=t, exercise=self.spec.id, reps=reps, partial_reps=partial, start_s=start, end_s=t
        )

    def _last_frames(self, n: int) -> feat.Track:
        return self._track_of(list(self._frames)[-n:])

    def _track_of(self, frames: list[_Frame]) -> feat.Track:
        return feat.Track(
            t=np.array([f.t for f in frames], np.float64),
            image=np.stack([f.image for f in frames]).astype(np.float64),
            world=np.stack([f.world for f in frames]).astype(np.float64),
            visibility=np.stack([f.visibility for f in frames]).astype(np.float64),
            image_size=self._image_size,
        )
