"""The app's screens: one class per screen, each handed the ``AppContext`` and a ``Navigator``."""
