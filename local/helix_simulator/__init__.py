"""Local Twitch Helix simulator: a real loopback HTTP server that follows SPEC.md section 5."""

from local.helix_simulator.server import HelixSimulator
from local.helix_simulator.state import Call, ChannelConfig, Fault, HelixState

__all__ = ["Call", "ChannelConfig", "Fault", "HelixSimulator", "HelixState"]
