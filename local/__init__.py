"""Local development tooling: emulators, simulators, relays (never deployed)."""
