"""The OBS side of Byte Vision: runs on the streamer's PC (see obs/README.md)."""
