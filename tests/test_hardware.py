"""Real devices: a camera, a speaker, a microphone, a GPU execution provider.

Each test runs only where the device is present and is skipped, with the reason, everywhere else
(CI has none of them). Nothing here is simulated: a skipped test says the device was not checked.
"""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np
import pytest

from app.engine.events import PipelineStats, StreamEnded
from app.engine.sinks import ListSink


def _camera_opens() -> bool:
    cap = cv2.VideoCapture(0)
    try:
        return bool(cap.isOpened() and cap.read()[0])
    finally:
        cap.release()


def _audio_device(kind: str) -> bool:
    try:
        import sounddevice

        sounddevice.query_devices(kind=kind)
        return True
    except Exception:  # no PortAudio (OSError) or no such device (PortAudioError)
        return False


def _gpu_providers() -> list[str]:
    import onnxruntime

    from app.engine.pose.runners import CPU_PROVIDER, PROVIDER_PREFERENCE

    accelerators = set(PROVIDER_PREFERENCE) - {CPU_PROVIDER}
    return [p for p in onnxruntime.get_available_providers() if p in accelerators]


@pytest.mark.camera
@pytest.mark.skipif(not _camera_opens(), reason="no camera at index 0")
def test_camera_streams_frames_through_the_live_pipeline() -> None:
    from app.engine.capture import OpenCvFrameSource
    from app.engine.pipeline import LivePipeline, PipelineConfig

    class CountFrames:
        def __init__(self) -> None:
            self.frames = 0

        def process(self, frame: object) -> list[object]:
            self.frames += 1
            return []

        def finish(self, t: float) -> list[object]:
            return []

        def stage_ms(self) -> dict[str, float]:
            return {}

    processor, sink = CountFrames(), ListSink()
    config = PipelineConfig(stats_interval_s=1.0)
    pipeline = LivePipeline(OpenCvFrameSource(0), processor, sink, config=config)  # type: ignore[arg-type]
    pipeline.start()
    time.sleep(3.0)
    pipeline.stop()
    assert pipeline.join(3.0)
    assert processor.frames >= 15  # a webcam gives at least 5 fps
    assert sink.of_type(StreamEnded)[-1].reason == "stopped"
    assert sink.of_type(PipelineStats)


@pytest.mark.speaker
@pytest.mark.skipif(not _audio_device("output"), reason="no audio output device")
def test_a_line_plays_on_the_speaker_for_its_duration() -> None:
    from app.voice.audio import Audio
    from app.voice.playback import open_output

    output = open_output()
    assert output.audible
    tone = Audio((0.2 * np.sin(np.arange(12000) * 2 * np.pi * 440 / 24000)).astype(np.float32), 24000)
    t0 = time.monotonic()
    output.play(tone, threading.Event())
    assert 0.4 <= time.monotonic() - t0 < 2.0  # 0.5 s of audio, played to the end


@pytest.mark.microphone
@pytest.mark.skipif(not _audio_device("input"), reason="no microphone")
def test_the_microphone_feeds_the_listener() -> None:
    from app.voice.listener import CommandListener, MicrophoneListener
    from app.voice.recognizer import create_recognizer
    from app.voice.vad import SileroVad

    listener = CommandListener(create_recognizer(), SileroVad())
    mic = MicrophoneListener(listener, lambda _heard: None)
    mic.start()
    time.sleep(1.5)
    mic.stop()
    assert listener._samples >= 16000  # at least a second of audio went through VAD and segmenter


@pytest.mark.gpu
@pytest.mark.skipif(not _gpu_providers(), reason="ONNX Runtime has no GPU/NPU execution provider here")
def test_pose_runs_on_an_accelerator_provider_and_agrees_with_cpu() -> None:
    from app.engine.models import model_dir
    from app.engine.pose.runners import OnnxRunner

    path = model_dir() / "pose_landmark_full.onnx"
    accelerated = OnnxRunner(path)
    cpu = OnnxRunner(path, providers=["CPUExecutionProvider"])
    assert accelerated.providers[0] != "CPUExecutionProvider"
    image = np.random.default_rng(0).random((1, 256, 256, 3), dtype=np.float32)
    for a, b in zip(accelerated.run(image), cpu.run(image), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-2, atol=1e-2)
