"""The voice coach: spoken cues out (TTS, playback, cue engine) and voice commands in (VAD, recogniser,
intents). Everything runs offline; audio hardware is optional."""
