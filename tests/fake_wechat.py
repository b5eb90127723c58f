"""A fake of WeChat's official-account API on loopback, for tests and for stacks started by scripts.

In a test (it runs in a thread of its own, so sync and async tests alike can use it):

    fake = FakeWeChat(app_id="wx-test", secret="s3cret")
    base_url = fake.start()          # e.g. http://127.0.0.1:41234, for WECHAT_API_BASE
    ...                              # the code under test calls base_url
    fake.sent                        # [(openid, text), ...] customer-service messages it took
    fake.menus                       # [menu JSON, ...] menus it was given; fake.menu_bodies: the raw bodies
    fake.token_requests              # how many times /cgi-bin/token was asked
    fake.fail_next(45015, n=2)       # the next 2 send/menu calls answer errcode 45015
    fake.down_next(n=1)              # the next call answers HTTP 503 (as if WeChat were down)
    fake.expire_tokens()             # every token issued so far now answers 42001 (expired)
    fake.stop()

As a process: `python -m tests.fake_wechat --port N [--app-id ID --secret S --expires-in SECONDS]`. GET / answers
200 once it is up; GET /fake/state gives {"sent": [[openid, text], ...], "menus": [...], "token_requests": n};
POST /fake/fail {"errcode": 45015, "n": 1}, POST /fake/down {"n": 1}, POST /fake/expire and POST /fake/reset do
what the methods above do.

What it checks as WeChat does: appid and secret (40013, 40125), the access token (41001 missing, 40001
unknown, 42001 expired), a text message's size (45002 over 2048 bytes), a menu's shape (40016).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import signal
import threading
from collections import deque
from typing import Any

from aiohttp import web

DEFAULT_APP_ID = "wx-fake-app-id"
DEFAULT_SECRET = "fake-app-secret"
TEXT_LIMIT = 2048
START_TIMEOUT_S = 10.0


def _answer(errcode: int = 0, errmsg: str = "ok", **extra: Any) -> web.Response:
    return web.json_response({"errcode": errcode, "errmsg": errmsg, **extra})


class FakeWeChat:
    """The fake server; its lists and counters are safe to read from the test's thread."""

    def __init__(self, app_id: str = DEFAULT_APP_ID, secret: str = DEFAULT_SECRET, expires_in: int = 7200,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        self.app_id = app_id
        self.secret = secret
        self.expires_in = expires_in
        self.host = host
        self.port = port
        self.sent: list[tuple[str, str]] = []
        self.menus: list[dict[str, Any]] = []
        self.menu_bodies: list[bytes] = []
        self.token_requests = 0
        self._valid: set[str] = set()
        self._expired: set[str] = set()
        self._failures: deque[int] = deque()  # errcodes; 503 = answer HTTP 503
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # --- steering ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def fail_next(self, errcode: int, n: int = 1) -> None:
        """The next `n` send or menu calls answer `errcode` (after the token check); 503 answers HTTP 503."""
        with self._lock:
            self._failures.extend([errcode] * n)

    def down_next(self, n: int = 1) -> None:
        """The next `n` send or menu calls answer HTTP 503."""
        self.fail_next(503, n)

    def expire_tokens(self) -> None:
        """Every token issued so far now answers 42001 (access_token expired)."""
        with self._lock:
            self._expired |= self._valid
            self._valid = set()

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self.menus.clear()
            self.menu_bodies.clear()
            self._failures.clear()
            self.token_requests = 0

    def texts_to(self, openid: str) -> list[str]:
        return [text for who, text in self.sent if who == openid]

    # --- the API -------------------------------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_get("/", self._health)
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._send)
        app.router.add_post("/cgi-bin/menu/create", self._menu)
        app.router.add_get("/fake/state", self._state)
        app.router.add_post("/fake/fail", self._fail)
        app.router.add_post("/fake/down", self._down)
        app.router.add_post("/fake/expire", self._expire)
        app.router.add_post("/fake/reset", self._reset)
        return app

    async def _health(self, _request: web.Request) -> web.Response:
        return web.json_response({"fake": "wechat"})

    async def _token(self, request: web.Request) -> web.Response:
        with self._lock:
            self.token_requests += 1
        query = request.query
        if query.get("grant_type") != "client_credential":
            return _answer(40002, "invalid grant_type")
        if query.get("appid") != self.app_id:
            return _answer(40013, "invalid appid")
        if query.get("secret") != self.secret:
            return _answer(40125, "invalid appsecret")
        token = "FAKE_TOKEN_" + secrets.token_hex(16)
        with self._lock:
            self._valid.add(token)
        return web.json_response({"access_token": token, "expires_in": self.expires_in})

    def _refused(self, request: web.Request) -> web.Response | None:
        """A token or injected failure answer, or None when the call may go on."""
        token = request.query.get("access_token")
        with self._lock:
            if not token:
                return _answer(41001, "access_token missing")
            if token in self._expired:
                return _answer(42001, "access_token expired")
            if token not in self._valid:
                return _answer(40001, "invalid credential, access_token is invalid or not latest")
            failure = self._failures.popleft() if self._failures else None
        if failure == 503:
            return web.Response(status=503, text="service unavailable")
        if failure is not None:
            return _answer(failure, f"fake failure {failure}")
        return None

    async def _json(self, request: web.Request) -> Any:
        try:
            return json.loads((await request.read()).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            return None

    async def _send(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        body = await self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("touser"), str) or not body["touser"]:
            return _answer(44002, "empty post data or invalid touser")
        if body.get("msgtype") != "text" or not isinstance(body.get("text"), dict):
            return _answer(40008, "invalid message type")
        content = body["text"].get("content")
        if not isinstance(content, str) or not content:
            return _answer(44003, "empty news data")
        if len(content.encode("utf-8")) > TEXT_LIMIT:
            return _answer(45002, "content size out of limit")
        with self._lock:
            self.sent.append((body["touser"], content))
        return _answer()

    async def _menu(self, request: web.Request) -> web.Response:
        refused = self._refused(request)
        if refused is not None:
            return refused
        raw = await request.read()
        body = await self._json(request)
        buttons = body.get("button") if isinstance(body, dict) else None
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return _answer(40016, "invalid button size")
        for button in buttons:
            subs = button.get("sub_button") if isinstance(button, dict) else None
            if subs is not None and (not isinstance(subs, list) or not 1 <= len(subs) <= 5):
                return _answer(40017, "invalid sub button size")
        with self._lock:
            self.menus.append(body)
            self.menu_bodies.append(raw)
        return _answer()

    async def _state(self, _request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response({"sent": [list(s) for s in self.sent], "menus": list(self.menus),
                                      "token_requests": self.token_requests})

    async def _fail(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        if not isinstance(body, dict) or not isinstance(body.get("errcode"), int):
            return web.json_response({"error": "bad_body", "reason": "send {\"errcode\": int, \"n\": int}"}, status=400)
        self.fail_next(body["errcode"], int(body.get("n") or 1))
        return web.json_response({"ok": True})

    async def _down(self, request: web.Request) -> web.Response:
        body = await self._json(request)
        self.down_next(int(body.get("n") or 1) if isinstance(body, dict) else 1)
        return web.json_response({"ok": True})

    async def _expire(self, _request: web.Request) -> web.Response:
        self.expire_tokens()
        return web.json_response({"ok": True})

    async def _reset(self, _request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    # --- running -------------------------------------------------------------------------------

    async def serve(self) -> None:
        """Start serving in the running loop (sets `port` when it was 0)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]  # the port the system chose, when asked for 0

    async def shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def start(self) -> str:
        """Serve in a thread of its own; returns the base URL."""
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                loop.run_until_complete(self.serve())
            except BaseException as exc:  # e.g. the port is taken: start() raises it
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self.shutdown())
            loop.close()

        self._thread = threading.Thread(target=run, name="fake-wechat", daemon=True)
        self._thread.start()
        if not ready.wait(START_TIMEOUT_S):
            raise RuntimeError("the fake WeChat server did not start")
        if errors:
            raise errors[0]
        return self.base_url

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(START_TIMEOUT_S)
        self._loop = self._thread = None

    def __enter__(self) -> FakeWeChat:
        self.start()
        return self

    def __exit__(self, *_exc: Any) -> None:
        self.stop()


async def _serve_forever(fake: FakeWeChat) -> None:
    await fake.serve()
    print(f"fake wechat on {fake.base_url}", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    await fake.shutdown()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_wechat", description="a fake WeChat API on loopback")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--app-id", default=DEFAULT_APP_ID)
    parser.add_argument("--secret", default=DEFAULT_SECRET)
    parser.add_argument("--expires-in", type=int, default=7200)
    args = parser.parse_args(argv)
    fake = FakeWeChat(app_id=args.app_id, secret=args.secret, expires_in=args.expires_in, host=args.host, port=args.port)
    asyncio.run(_serve_forever(fake))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
