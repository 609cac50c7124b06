"""`GET /healthz` on `$PORT` for Cloud Run: 200 while chat is connected or reconnecting.

A tiny aiohttp app (aiohttp comes with twitchio) on the bot's own event loop. The body says
why, so an operator reading the probe sees the chat link, the LLM goal's state, the control
plane listener and the write queue without opening a log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from aiohttp import web

logger = logging.getLogger(__name__)

Report = Callable[[], tuple[bool, dict[str, Any]]]


class HealthServer:
    def __init__(self, report: Report, *, host: str = "0.0.0.0", port: int = 8080) -> None:
        self._report = report
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    async def _healthz(self, request: web.Request) -> web.Response:
        try:
            ok, body = self._report()
        except Exception:
            logger.exception("healthz: the report failed")
            ok, body = False, {"error": "health report failed"}
        return web.json_response({"ok": ok, **body}, status=200 if ok else 503)

    async def start(self) -> HealthServer:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else self._port
        logger.info("healthz listening", extra={"port": self.port})
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
