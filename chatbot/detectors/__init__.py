"""Detectors: pure code, no I/O, one module each; state is per channel, time is event time."""
