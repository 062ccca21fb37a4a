"""Serving the emulator over real sockets with uvicorn: in a background thread (suites, tests)
or in the foreground (``keyprobe emulator``)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType

import uvicorn

from keyprobe.emulator.app import Emulator
from keyprobe.emulator.wsapi import PATH as WS_API_PATH
from keyprobe.emulator.wsapi import WsSettings


def bind_socket(host: str, port: int) -> socket.socket:
    """Bind before serving, so port 0 gives a known port and no race with another server."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def ws_api_url_of(sock: socket.socket) -> str:
    """The WebSocket API on the same host and port: ``ws://HOST:PORT/ws-api/v3``."""
    return "ws" + url_of(sock).removeprefix("http") + WS_API_PATH


def _config(app: Emulator, log_level: str) -> uvicorn.Config:
    # Tests wrap the emulator in other ASGI apps (fault injectors): they get the defaults.
    ws_api = getattr(app, "ws_api", None)
    ws = ws_api.settings if ws_api is not None else WsSettings()
    return uvicorn.Config(
        app,
        # The WebSocket API (/ws-api/v3): websockets' sans-I/O protocol (no task per
        # connection for keep-alive, so idle connections stay small); it sends the pings and
        # drops a client that does not answer, and closes 1009 above the frame cap.
        ws="websockets-sansio",
        ws_max_size=ws.max_frame_bytes,
        ws_ping_interval=ws.ping_interval_s,
        ws_ping_timeout=ws.ping_timeout_s,
        # Binance offers no compression; a deflate context costs ~100 KB per connection.
        ws_per_message_deflate=False,
        log_level=log_level,
        access_log=False,
        lifespan="off",
        # Binance closes idle keep-alive connections after a while; clients must cope.
        timeout_keep_alive=30,
        server_header=False,
        # uvicorn trusts X-Forwarded-For from 127.0.0.1 by default, which would let any local
        # client claim a whitelisted address; the app decides that (--trust-proxy) itself.
        proxy_headers=False,
        date_header=True,
    )


class _Server(uvicorn.Server):
    """uvicorn, telling WebSocket API clients first when it shuts down (serverShutdown)."""

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        ws_api = getattr(self.config.app, "ws_api", None)
        if ws_api is not None and ws_api.connections:
            ws_api.server_shutdown()
            # Let the event reach the clients before uvicorn closes their connections.
            await asyncio.sleep(ws_api.settings.shutdown_notice_s)
        await super().shutdown(sockets=sockets)


class EmulatorServer:
    """The emulator on ``host:port`` in a daemon thread. ``start()`` returns the base URL."""

    def __init__(
        self, app: Emulator, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"
    ) -> None:
        self.app = app
        self._sock = bind_socket(host, port)
        self.url = url_of(self._sock)
        self.ws_url = ws_api_url_of(self._sock)
        self._server = _Server(_config(app, log_level))
        self._thread: threading.Thread | None = None

    def start(self, timeout: float = 10.0) -> str:
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator did not start")
            time.sleep(0.01)
        return self.url

    def stop(self, timeout: float = 10.0) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _AnnouncingServer(_Server):
    """Runs ``on_started`` once the server accepts requests and its signal handlers are in
    place, so a client that reads the announced URL and stops us at once is handled cleanly."""

    def __init__(self, config: uvicorn.Config, on_started: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_started = on_started

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_started()


def serve_forever(
    app: Emulator,
    sock: socket.socket,
    log_level: str = "info",
    on_started: Callable[[], None] = lambda: None,
) -> None:
    """Serve in the foreground until SIGINT/SIGTERM (uvicorn shuts down gracefully, then
    re-raises the interrupt, which is the normal way to stop here)."""
    with contextlib.suppress(KeyboardInterrupt):
        _AnnouncingServer(_config(app, log_level), on_started).run(sockets=[sock])
