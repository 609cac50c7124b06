"""Byte Vision for OBS: every few seconds, a screenshot of what the stream shows (the program
scene, through obs-websocket v5) goes to the `vision_ingest` function.

    python -m obs.frame_sender --url https://REGION-PROJECT.cloudfunctions.net/vision-ingest \\
        --broadcaster-id 12345 [--interval 5]

The token comes from the `VISION_INGEST_TOKEN` environment variable or `--token-file`, and
the OBS WebSocket password from `OBS_WEBSOCKET_PASSWORD` or `--obs-password-file`: never
from the command line, where other users of the PC and the shell history can read them.

Each frame is posted with `X-Capture-Time` (when it was grabbed, ISO 8601 UTC): the function
dates the moment from it. The sender keeps going whatever happens: a 429 waits the
`Retry-After` the function gives, other errors back off (up to 5 minutes), and a closed or
restarted OBS is reconnected to (backing off up to 30 s).
"""

from __future__ import annotations

import argparse
import base64
import logging
import os
import random
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Protocol

import requests

from shared.domain.backoff import backoff_seconds

logger = logging.getLogger("obs.frame_sender")

CAPTURE_HEADER = "X-Capture-Time"  # shared.domain.vision.CAPTURE_HEADER, spelled out: see README
MAX_FRAME_BYTES = 4 * 1024 * 1024
TOKEN_ENV = "VISION_INGEST_TOKEN"
OBS_PASSWORD_ENV = "OBS_WEBSOCKET_PASSWORD"
URL_ENV = "BYTECLIPS_VISION_URL"
MAX_ERROR_BACKOFF = 300.0
MAX_OBS_BACKOFF = 30.0
_MIMES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png"}
# Flags that would put a secret on the command line (checked before argparse, which would
# echo the value back in its error).
_SECRET_FLAG_PREFIXES = ("--tok", "--pass", "--obs-pass", "--secret", "--key")
_SECRET_FILE_FLAGS = ("--token-file", "--obs-password-file")


class ObsUnavailable(Exception):
    """OBS is closed, restarting, or refused the request; the sender reconnects later."""


@dataclass(frozen=True)
class SenderSettings:
    url: str
    broadcaster_id: str
    token: str
    interval: float = 5.0
    obs_host: str = "localhost"
    obs_port: int = 4455
    obs_password: str = ""
    image_format: str = "jpg"
    width: int = 1280
    height: int = 720
    quality: int = 70
    post_timeout: float = 40.0

    def __repr__(self) -> str:  # the dataclass default would print the secrets
        return f"SenderSettings(url={self.url!r}, broadcaster_id={self.broadcaster_id!r})"


class Screens(Protocol):
    def grab(self) -> tuple[bytes, str]:
        """The program output as image bytes and their MIME type; ObsUnavailable if not."""
        ...

    def close(self) -> None: ...


def decode_image_data(image_data: str) -> bytes:
    """obs-websocket's `imageData` is a data URI: `data:image/jpg;base64,....`."""
    _, _, encoded = image_data.partition(",")
    return base64.b64decode(encoded or image_data, validate=False)


class ObsScreens:
    """Screenshots of the current program scene over obs-websocket v5 (obsws-python)."""

    def __init__(self, settings: SenderSettings, *, connect_timeout: float = 5.0) -> None:
        self._settings = settings
        self._timeout = connect_timeout
        self._client: Any = None
        # obsws-python logs its connection parameters, password included, at INFO.
        logging.getLogger("obsws_python").setLevel(logging.CRITICAL + 1)

    def _connect(self) -> Any:
        import obsws_python  # type: ignore[import-untyped]

        return obsws_python.ReqClient(
            host=self._settings.obs_host,
            port=self._settings.obs_port,
            password=self._settings.obs_password,
            timeout=self._timeout,
        )

    def grab(self) -> tuple[bytes, str]:
        settings = self._settings
        try:
            if self._client is None:
                self._client = self._connect()
            scene = self._client.send("GetCurrentProgramScene", raw=True) or {}
            name = scene.get("sceneName") or scene.get("currentProgramSceneName")
            if not name:
                raise ObsUnavailable("OBS named no program scene")
            shot = self._client.send(
                "GetSourceScreenshot",
                {
                    "sourceName": name,
                    "imageFormat": settings.image_format,
                    "imageWidth": settings.width,
                    "imageHeight": settings.height,
                    "imageCompressionQuality": settings.quality,
                },
                raw=True,
            )
            data = decode_image_data((shot or {})["imageData"])
        except ObsUnavailable:
            self.close()
            raise
        except Exception as error:  # any failure of OBS or the socket: reconnect later
            self.close()
            raise ObsUnavailable(f"{type(error).__name__}: {str(error)[:120]}") from None
        return data, _MIMES.get(settings.image_format.lower(), "image/jpeg")

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.disconnect()
            except Exception:  # already gone
                logger.debug("OBS connection was already closed")


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """`Retry-After` as seconds: a number of seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def _printable(text: Any, limit: int = 120) -> str:
    """Model text for the terminal: no escape sequences, one line."""
    return "".join(ch for ch in str(text) if ch.isprintable())[:limit]


class FrameSender:
    """One `step()` per frame; it returns how long to wait before the next one."""

    def __init__(
        self,
        settings: SenderSettings,
        screens: Screens,
        *,
        session: requests.Session | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._settings = settings
        self._screens = screens
        self._session = session or requests.Session()
        self._now = now
        self._monotonic = monotonic
        self._jitter = jitter
        self.obs_failures = 0
        self.post_failures = 0
        self.sent = 0

    def _error_backoff(self) -> float:
        self.post_failures += 1
        wait = backoff_seconds(
            self.post_failures - 1,
            base=self._settings.interval,
            cap=MAX_ERROR_BACKOFF,
            jitter=self._jitter(),
        )
        return max(self._settings.interval, wait)

    def step(self) -> float:
        settings = self._settings
        started = self._monotonic()
        captured = self._now()
        try:
            frame, mime = self._screens.grab()
        except ObsUnavailable as error:
            self.obs_failures += 1
            wait = backoff_seconds(self.obs_failures - 1, base=1.0, cap=MAX_OBS_BACKOFF)
            logger.warning("OBS unavailable (%s); retrying in %.0f s", error, wait)
            return wait
        if self.obs_failures:
            logger.info("connected to OBS again")
        self.obs_failures = 0
        if len(frame) > MAX_FRAME_BYTES:
            logger.warning("frame of %d bytes is over 4 MB: lower --width or --quality", len(frame))
            return self._error_backoff()
        try:
            response = self._session.post(
                settings.url,
                params={"broadcaster_id": settings.broadcaster_id},
                data=frame,
                headers={
                    "Authorization": f"Bearer {settings.token}",
                    "Content-Type": mime,
                    CAPTURE_HEADER: captured.astimezone(UTC).isoformat(timespec="milliseconds"),
                },
                timeout=settings.post_timeout,
            )
        except requests.RequestException as error:
            wait = self._error_backoff()
            logger.warning(
                "posting the frame failed (%s); retrying in %.0f s", type(error).__name__, wait
            )
            return wait
        return self._answered(response, started)

    def _answered(self, response: requests.Response, started: float) -> float:
        settings = self._settings
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        if 200 <= status < 300:
            self.post_failures = 0
            self.sent += 1
            scene = body.get("scene") or {}
            queued = body.get("action_id") and not body.get("duplicate")
            logger.info(
                "frame sent: %s / %s (%s %.2f)%s",
                _printable(scene.get("game", "")),
                _printable(scene.get("scene", "")),
                _printable(scene.get("event", "")),
                float(scene.get("confidence") or 0.0),
                " -> clip candidate queued" if queued else "",
            )
            return max(0.0, settings.interval - (self._monotonic() - started))
        message = _printable(body.get("message", ""), 300)
        after = retry_after_seconds(response.headers.get("Retry-After"), self._now())
        if status == 429:
            wait = max(settings.interval, after if after is not None else settings.interval)
            logger.warning("vision_ingest says slow down (%s); waiting %.0f s", message, wait)
            return wait
        wait = max(self._error_backoff(), after or 0.0)
        if status in (401, 403):
            logger.error("vision_ingest refused the token (%s): check %s", message, TOKEN_ENV)
        else:
            logger.warning(
                "vision_ingest answered %d (%s); retrying in %.0f s", status, message, wait
            )
        return wait

    def run(self, stop: threading.Event) -> None:
        """Send frames until `stop` is set."""
        try:
            while not stop.is_set():
                stop.wait(self.step())
        finally:
            self._screens.close()


def _secret(env: str, file: Path | None, what: str) -> str:
    if file is not None:
        try:
            value = file.read_text(encoding="utf-8").strip()
        except OSError as error:
            raise SystemExit(f"cannot read the {what} file {file}: {error.strerror}") from None
        if not value:
            raise SystemExit(f"the {what} file {file} is empty")
        return value
    return os.environ.get(env, "").strip()


def parse_args(argv: Sequence[str] | None = None) -> SenderSettings:
    args_list = list(sys.argv[1:] if argv is None else argv)
    for arg in args_list:
        name = arg.split("=", 1)[0]
        if name not in _SECRET_FILE_FLAGS and name.startswith(_SECRET_FLAG_PREFIXES):
            raise SystemExit(
                f"{name} is not accepted: secrets never go on the command line. Set "
                f"{TOKEN_ENV} / {OBS_PASSWORD_ENV} or use --token-file / --obs-password-file."
            )
    parser = argparse.ArgumentParser(
        prog="python -m obs.frame_sender",
        description="Send OBS program frames to Byte Clips' vision_ingest function.",
        allow_abbrev=False,  # so no secret-looking flag is ever taken for a file flag
    )
    parser.add_argument(
        "--url", default=os.environ.get(URL_ENV), help=f"function URL (or {URL_ENV})"
    )
    parser.add_argument("--broadcaster-id", required=True, help="the channel's numeric Twitch id")
    parser.add_argument("--interval", type=float, default=5.0, help="seconds between frames")
    parser.add_argument(
        "--token-file", type=Path, help=f"file holding the token (else {TOKEN_ENV})"
    )
    parser.add_argument("--obs-host", default="localhost")
    parser.add_argument("--obs-port", type=int, default=4455)
    parser.add_argument(
        "--obs-password-file",
        type=Path,
        help=f"file holding the OBS password (else {OBS_PASSWORD_ENV})",
    )
    parser.add_argument("--format", choices=sorted(_MIMES), default="jpg")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--quality", type=int, default=70, help="JPEG quality 0-100")
    args = parser.parse_args(args_list)
    if not args.url:
        parser.error(f"--url (or {URL_ENV}) is required")
    if not args.broadcaster_id.isdigit():
        parser.error("--broadcaster-id must be the numeric Twitch id, not the login name")
    if args.interval < 1.0:
        parser.error("--interval must be at least 1 second")
    token = _secret(TOKEN_ENV, args.token_file, "token")
    if not token:
        parser.error(f"no token: set {TOKEN_ENV} or pass --token-file")
    return SenderSettings(
        url=args.url,
        broadcaster_id=args.broadcaster_id,
        token=token,
        interval=args.interval,
        obs_host=args.obs_host,
        obs_port=args.obs_port,
        obs_password=_secret(OBS_PASSWORD_ENV, args.obs_password_file, "OBS password"),
        image_format=args.format,
        width=args.width,
        height=args.height,
        quality=args.quality,
    )


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    settings = parse_args(argv)
    stop = threading.Event()
    sender = FrameSender(settings, ObsScreens(settings))
    logger.info(
        "sending a frame every %g s of OBS %s:%d to %s for channel %s (Ctrl-C stops)",
        settings.interval,
        settings.obs_host,
        settings.obs_port,
        settings.url,
        settings.broadcaster_id,
    )
    try:
        sender.run(stop)
    except KeyboardInterrupt:
        stop.set()
    return 0


if __name__ == "__main__":
    sys.exit(main())
