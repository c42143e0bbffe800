"""Spotter's error hierarchy: one root, one subclass per failure domain.

Every error carries a message written for the person in front of the screen: what went wrong and,
where there is one, how to fix it.
"""

from __future__ import annotations


class SpotterError(Exception):
    """Root of every error Spotter raises on purpose."""


class ConfigError(SpotterError):
    """A setting or argument is invalid."""


class ModelLoadError(SpotterError):
    """A model file is missing, corrupt or cannot be loaded."""


class VideoError(SpotterError):
    """A video file cannot be opened or decoded."""


class CameraError(SpotterError):
    """A camera cannot be opened, or stopped delivering frames."""


class ExerciseSpecError(SpotterError):
    """An exercise specification is invalid or unknown."""


class NoPersonError(SpotterError):
    """Nobody was found in the video."""


class StorageError(SpotterError):
    """The local database cannot be read or written safely."""


class SyncError(SpotterError):
    """Synchronisation with the server failed."""


class SpeechError(SpotterError):
    """Speech synthesis, audio playback or speech recognition failed."""
