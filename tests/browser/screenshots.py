"""Screenshots of every page for docs/screenshots/, with realistic data.

    .venv/bin/python -m tests.browser.screenshots [--out docs/screenshots] [--language pt-BR]

Starts its own Firestore emulator, seeds a busy evening (tests/browser/demo_data.py), serves
clip thumbnails from loopback, runs `streamlit run streamlit_app/app.py` and photographs each
page in headless Chromium. With `--language pt-BR` the control plane speaks Brazilian
Portuguese and the Queue and Jobs pages are photographed as `queue.pt-BR.png` and
`jobs.pt-BR.png`.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from local.firestore_emulator import FirestoreEmulator
from shared.store.control_plane import ControlPlaneStore
from shared.store.firestore_client import LOCAL_PROJECT, make_client
from tests.browser import demo_data
from tests.browser.streamlit_browser import (
    ROOT,
    app_env,
    browser_missing,
    choose_option,
    chromium,
    click_button,
    full_screenshot,
    login,
    open_page,
    streamlit_server,
    type_into,
    wait_for_text,
)

PASSWORD = "screenshot-password"


def _thumbnail(name: str) -> bytes:
    """A 480x272 stand-in for Twitch's preview image, one colour per clip."""
    from PIL import Image, ImageDraw

    hue = sum(name.encode()) % 360
    image = Image.new("RGB", (480, 272))
    draw = ImageDraw.Draw(image)
    for y in range(272):
        shade = int(40 + 120 * y / 272)
        draw.line([(0, y), (480, y)], fill=((hue + shade) % 256, 60 + shade // 2, 140))
    draw.rectangle([16, 220, 200, 256], fill=(20, 20, 30))
    draw.text((26, 230), "clip preview", fill=(240, 240, 240))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


class _Thumbnails(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = _thumbnail(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def thumbnail_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Thumbnails)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def capture(out: Path, language: str = "en") -> list[Path]:
    shots: list[Path] = []
    suffix = "" if language == "en" else f".{language}"
    with (
        FirestoreEmulator(project=LOCAL_PROJECT) as emulator,
        thumbnail_server() as thumbs,
        tempfile.TemporaryDirectory() as tmp,
    ):
        os.environ["FIRESTORE_EMULATOR_HOST"] = emulator.host
        os.environ["GOOGLE_CLOUD_PROJECT"] = LOCAL_PROJECT
        demo_data.seed(make_client(LOCAL_PROJECT), thumbs)
        if language != "en":
            ControlPlaneStore(make_client(LOCAL_PROJECT)).write({"language": language}, by="Ana")
        env = app_env(
            emulator.host,
            PASSWORD,
            TWITCH_CLIENT_ID="byteclips-demo",
            TWITCH_CLIENT_SECRET="demo-client-secret",
            TWITCH_BROADCASTER_ID=demo_data.CHANNEL,
        )
        with streamlit_server(env, Path(tmp) / "streamlit.log") as base, chromium() as driver:

            def shot(name: str, settle: float = 1.5, max_height: int = 2400) -> None:
                time.sleep(settle)
                path = out / f"{name}{suffix}.png"
                full_screenshot(driver, path, max_height=max_height)
                driver.set_window_size(1400, 1000)
                shots.append(path)

            driver.get(base + "/")
            wait_for_text(driver, "Log in to see")
            shot("login", settle=0.5)
            if language == "en":
                login(driver, base, "Ann", PASSWORD)
            else:
                # The login page speaks the language this server last read: none yet, English.
                type_into(driver, "Your name", "Ann")
                type_into(driver, "Password", PASSWORD)
                click_button(driver, "Log in")
            wait_for_text(driver, "1v4 clutch on Ascent")
            shot("queue")
            open_page(driver, "Jobs")
            wait_for_text(driver, "Ace on Haven")
            shot("jobs", max_height=1700)
            if language != "en":
                return shots
            choose_option(driver, "Failed (2)")
            wait_for_text(driver, "What to do")
            shot("jobs_failed")
            open_page(driver, "Manual clip")
            choose_option(driver, "From a VOD")
            type_into(driver, "Channel (numeric broadcaster id)", "bytestreamer")
            type_into(driver, "VOD id", "900001")
            type_into(driver, "Clip ends at (position in the VOD)", "0:20")
            click_button(driver, "Queue clip")
            wait_for_text(driver, "Not queued")
            shot("manual_clip")
            open_page(driver, "Control plane")
            wait_for_text(driver, "Change history")
            shot("control_plane")
            open_page(driver, "Health")
            wait_for_text(driver, "Moment → approval → ready")
            shot("health", settle=3.0)
            open_page(driver, "Connect Twitch")
            wait_for_text(driver, "Connected accounts")
            shot("connect_twitch")
    return shots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.browser.screenshots")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--language", choices=("en", "pt-BR"), default="en")
    args = parser.parse_args(argv)
    missing = browser_missing()
    if missing:
        print(f"cannot take screenshots: {missing}", file=sys.stderr)
        return 1
    for path in capture(args.out, args.language):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
