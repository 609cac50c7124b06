"""Local Twitch Helix simulator: a real loopback HTTP server that follows Twitch's documented API
(docs/architecture.md §6.1)."""

from local.helix_simulator.server import HelixSimulator
from local.helix_simulator.state import Call, ChannelConfig, Fault, HelixState

__all__ = ["Call", "ChannelConfig", "Fault", "HelixSimulator", "HelixState"]
