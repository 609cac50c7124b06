"""The operator's browser on (simulated) Twitch's consent page, for tests of the Connect flow."""

from __future__ import annotations

from collections.abc import Iterable

import requests

from shared.connect.flow import authorization_url


def visit_consent(
    auth_base: str, client_id: str, redirect_uri: str, scopes: Iterable[str], state: str = "s"
) -> requests.Response:
    """Open the authorization URL the product builds; Twitch's redirect back is not followed."""
    url = authorization_url(
        auth_base, client_id=client_id, redirect_uri=redirect_uri, state=state, scopes=scopes
    )
    return requests.get(url, allow_redirects=False, timeout=5)
