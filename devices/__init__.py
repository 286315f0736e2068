"""Talking to devices: platforms, transports, sessions, the config tree and one converge()."""
