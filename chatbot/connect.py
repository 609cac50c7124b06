"""Connect the accounts the chat bot needs, from a terminal (like `shared.connect.terminal`).

    python -m chatbot.connect bot          # sign in as the bot account
    python -m chatbot.connect broadcaster  # sign in as the broadcaster (clips + channel:bot)

The bot account grants `user:read:chat`, `user:write:chat` and `user:bot`; its tokens go to
`twitch_tokens/{bot user id}`. The broadcaster grants the clip scopes again plus
`channel:bot` (a connect replaces the stored token, so the clip scopes must stay), which lets
the bot answer with the app token and the Chat Bot badge.
"""

from __future__ import annotations

import argparse
import sys

from shared.connect.terminal import DEFAULT_REDIRECT_URI, connect_in_terminal
from shared.domain.twitch_scopes import CHAT_BOT, CONNECT_SCOPES

SCOPES = {"bot": CHAT_BOT, "broadcaster": CONNECT_SCOPES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatbot.connect", description=__doc__)
    parser.add_argument("account", choices=sorted(SCOPES))
    parser.add_argument("--redirect-uri", default=DEFAULT_REDIRECT_URI)
    parser.add_argument("--answer", help="the address the browser landed on (else asked)")
    args = parser.parse_args(argv)
    wanted = SCOPES[args.account]
    connected = connect_in_terminal(
        who=args.account, scopes=wanted, redirect_uri=args.redirect_uri, answer=args.answer
    )
    if connected is None:
        return 1
    missing = [scope for scope in wanted if scope not in connected.scopes]
    if missing:
        print(f"Missing: {', '.join(missing)}; connect again and approve every scope.")
        return 1
    if args.account == "bot":
        print(f"Set TWITCH_BOT_USER_ID={connected.user_id} for the chat bot.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
