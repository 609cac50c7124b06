"""Byte's chat bot (issue 6): chat moments become clip candidates; ready clips go back to chat.

Pure core (`chat_line`, `settings`, `detectors/`, `brain`, `replies`, `rate_limit`, `vod`,
`link_state`) and thin edges (`twitch_bot` for twitchio, `sink`/`control`/`announcer` for
Firestore, `llm` for Gemini, `health` for Cloud Run, `replay` for chat logs).
"""
