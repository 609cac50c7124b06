"""Connect Twitch from a terminal on a headless machine.

    python -m shared.connect.terminal [--redirect-uri URL] [--answer URL]

It prints the authorization URL; open it on any device, approve, and paste back the address
the browser lands on (the page itself may fail to load: only its address matters).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from urllib.parse import parse_qs, urlsplit

from shared.connect.flow import Connected, authorization_url, complete, make_state
from shared.domain.errors import ByteClipsError
from shared.domain.twitch_scopes import CONNECT_SCOPES
from shared.logs import register_secret
from shared.store.firestore_client import default_client
from shared.store.twitch_tokens import TwitchTokenStore
from shared.twitch.helix_clips import HelixClips

DEFAULT_REDIRECT_URI = "http://localhost:8501/"


def _env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise SystemExit(f"{name} is not set: set it to your Twitch application's value")
    return value


def _first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def connect_in_terminal(
    *, who: str, scopes: Sequence[str], redirect_uri: str, answer: str | None
) -> Connected | None:
    """Print the URL, read back the landing address, store the tokens; None when refused."""
    client_secret = _env("TWITCH_CLIENT_SECRET")
    register_secret(client_secret)
    twitch = HelixClips(_env("TWITCH_CLIENT_ID"))
    url = authorization_url(
        twitch.auth_base,
        client_id=twitch.client_id,
        redirect_uri=redirect_uri,
        state=make_state(client_secret),
        scopes=scopes,
    )
    print(f"Open this address, sign in with the {who} account, approve:")
    print(url, flush=True)
    landed = answer or input("Paste the address your browser landed on: ")
    query = parse_qs(urlsplit(landed.strip()).query)
    try:
        connected = complete(
            twitch,
            TwitchTokenStore(default_client()),
            code=_first(query, "code"),
            state=_first(query, "state"),
            error=_first(query, "error"),
            redirect_uri=redirect_uri,
            client_secret=client_secret,
        )
    except ByteClipsError as error:
        print(f"Not connected: {error}", file=sys.stderr)
        return None
    print(f"Connected {connected.login or '?'} (user id {connected.user_id}).")
    print(f"Scopes: {', '.join(connected.scopes) or 'none'}")
    return connected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.connect.terminal", description=__doc__)
    parser.add_argument("--redirect-uri", default=DEFAULT_REDIRECT_URI)
    parser.add_argument("--answer", help="the address the browser landed on (else asked)")
    args = parser.parse_args(argv)
    connected = connect_in_terminal(
        who="broadcaster (or editor)",
        scopes=CONNECT_SCOPES,
        redirect_uri=args.redirect_uri,
        answer=args.answer,
    )
    if connected is None:
        return 1
    if connected.report.missing:
        print(f"Missing for clipping: {', '.join(connected.report.missing)}; connect again.")
        return 1
    print("Live clips, VOD clips and downloads are all allowed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
