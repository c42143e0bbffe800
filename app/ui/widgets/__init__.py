"""Widgets the screens are built of (the camera stage, the rep counter, the form meter...)."""
