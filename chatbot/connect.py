"""Connect the accounts the chat bot needs, from a terminal (like `shared.connect_cli`).

    python -m chatbot.connect bot          # sign in as the bot account
    python -m chatbot.connect broadcaster  # sign in as the broadcaster (clips + channel:bot)

The bot account grants `user:read:chat`, `user:write:chat` and `user:bot`; its tokens go to
`twitch_tokens/{bot user id}`. The broadcaster grants the clip scopes again plus
`channel:bot` (a connect replaces the stored token, so the clip scopes must stay), which lets
the bot answer with the app token and the Chat Bot badge.
"""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import parse_qs, urlsplit

from shared.connect_cli import DEFAULT_REDIRECT_URI
from shared.errors import ByteClipsError
from shared.helix_clips import HelixClips
from shared.logs import register_secret
from shared.store.firestore_client import default_client
from shared.store.twitch_tokens import TwitchTokenStore
from shared.twitch_connect import authorization_url, complete, make_state
from shared.twitch_scopes import CHANNEL_BOT, CHAT_BOT, CONNECT_SCOPES

SCOPES = {"bot": CHAT_BOT, "broadcaster": (*CONNECT_SCOPES, CHANNEL_BOT)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chatbot.connect", description=__doc__)
    parser.add_argument("account", choices=sorted(SCOPES))
    parser.add_argument("--redirect-uri", default=DEFAULT_REDIRECT_URI)
    parser.add_argument("--answer", help="the address the browser landed on (else asked)")
    args = parser.parse_args(argv)
    client_id = os.environ.get("TWITCH_CLIENT_ID", "").strip()
    secret = os.environ.get("TWITCH_CLIENT_SECRET", "").strip()
    if not client_id or not secret:
        raise SystemExit("set TWITCH_CLIENT_ID and TWITCH_CLIENT_SECRET (your Twitch app's)")
    register_secret(secret)
    twitch = HelixClips(client_id)
    wanted = SCOPES[args.account]
    url = authorization_url(
        twitch.auth_base,
        client_id=client_id,
        redirect_uri=args.redirect_uri,
        state=make_state(secret),
        scopes=wanted,
    )
    print(f"Open this address, sign in with the {args.account} account, approve:")
    print(url, flush=True)
    answer = args.answer or input("Paste the address your browser landed on: ")
    query = parse_qs(urlsplit(answer.strip()).query)
    try:
        connected = complete(
            twitch,
            TwitchTokenStore(default_client()),
            code=(query.get("code") or [None])[0],
            state=(query.get("state") or [None])[0],
            error=(query.get("error") or [None])[0],
            redirect_uri=args.redirect_uri,
            client_secret=secret,
        )
    except ByteClipsError as error:
        print(f"Not connected: {error}", file=sys.stderr)
        return 1
    missing = [scope for scope in wanted if scope not in connected.scopes]
    print(f"Connected {connected.login or '?'} (user id {connected.user_id}).")
    if missing:
        print(f"Missing: {', '.join(missing)}; connect again and approve every scope.")
        return 1
    if args.account == "bot":
        print(f"Set TWITCH_BOT_USER_ID={connected.user_id} for the chat bot.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
