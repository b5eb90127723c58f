"""The client of WeChat's official-account API: customer-service messages and the menu.

`HttpWeChatApi` keeps one aiohttp session per process, opened on first use, with explicit timeouts. A call
WeChat refuses because the access token is invalid or expired (40001, 40014, 42001) gets a new token and is
tried once more; a call that fails in transit (no answer, HTTP 5xx, errcode -1 "system busy") is tried once
more after a short pause. What still fails raises WeChatApiError (`code` is WeChat's errcode, None when WeChat
did not answer). Bodies go out as UTF-8 JSON with the Chinese written as it is: WeChat shows \\u escapes of a
menu literally.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Protocol

import aiohttp

from connectors.wechat_tokens import AccessTokens, TokenUnavailable
from service.db import make_engine
from service.logs import log_event
from service.settings import Settings

logger = logging.getLogger(__name__)

TIMEOUT_S = 5.0
CONNECT_TIMEOUT_S = 2.0
RETRY_PAUSE_S = 0.2
SYSTEM_BUSY = -1
DEFAULT_EXPIRES_IN = 7200
TOKEN_REFUSED = frozenset({40001, 40014, 42001})  # invalid credential / invalid token / token expired
# WeChat will not take the message for this user now: out of the 48-hour window, over the window's count,
# the user unsubscribed, or an openid that is not this account's.
WINDOW_CLOSED = 45015
OVER_LIMIT = 45047
NOT_SUBSCRIBED = 43004
NOT_DELIVERABLE = frozenset({WINDOW_CLOSED, OVER_LIMIT, NOT_SUBSCRIBED, 40003})


class WeChatApiError(Exception):
    """WeChat refused a call (`code` its errcode) or did not answer in time (`code` None)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class WeChatApi(Protocol):
    async def send_text(self, openid: str, text: str) -> None:
        """Send a customer-service text message to the user."""

    async def create_menu(self, menu: dict[str, Any]) -> None:
        """Set the official account's menu (the JSON of cgi-bin/menu/create)."""


class _Transient(Exception):
    """No usable answer this time (transport error, timeout, HTTP 5xx, system busy): worth one more try."""


def _errcode(payload: Any) -> int:
    if not isinstance(payload, dict):
        return 0
    try:
        return int(payload.get("errcode") or 0)
    except (TypeError, ValueError):
        return SYSTEM_BUSY


def _body(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


class HttpWeChatApi:
    """WeChatApi over HTTP, against `base_url` (https://api.weixin.qq.com, or a fake one in tests)."""

    def __init__(self, base_url: str, app_id: str, app_secret: str, tokens: AccessTokens | None = None,
                 engine: Any = None, timeout_s: float = TIMEOUT_S, retry_pause_s: float = RETRY_PAUSE_S) -> None:
        self._base_url = base_url.rstrip("/")
        self._app_id = app_id
        self._app_secret = app_secret
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))
        self._retry_pause_s = retry_pause_s
        self._session: aiohttp.ClientSession | None = None
        self._session_lock = asyncio.Lock()
        self.tokens = tokens or AccessTokens(app_id, self.fetch_token, engine)

    def __repr__(self) -> str:
        return f"HttpWeChatApi(base_url={self._base_url!r}, app_id={self._app_id!r})"

    @classmethod
    def from_settings(cls, settings: Settings, engine: Any = None) -> HttpWeChatApi:
        """The client of settings.wechat_api_base; the token shared in settings.database_url (already migrated)."""
        if not settings.wechat_app_id or not settings.wechat_app_secret:
            raise ValueError("WECHAT_APP_ID and WECHAT_APP_SECRET must be set to call WeChat's API")
        return cls(settings.wechat_api_base, settings.wechat_app_id, settings.wechat_app_secret,
                   engine=engine if engine is not None else make_engine(settings.database_url))

    async def _client(self) -> aiohttp.ClientSession:
        async with self._session_lock:
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession(timeout=self._timeout)
            return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()

    # --- the calls ------------------------------------------------------------------------------

    async def send_text(self, openid: str, text: str) -> None:
        await self._call("/cgi-bin/message/custom/send",
                         {"touser": openid, "msgtype": "text", "text": {"content": text}})

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self._call("/cgi-bin/menu/create", menu)

    async def fetch_token(self) -> tuple[str, int]:
        """A new access token from WeChat (AccessTokens calls this; nobody else should)."""
        params = {"grant_type": "client_credential", "appid": self._app_id, "secret": self._app_secret}
        payload = await self._twice("token", "GET", "/cgi-bin/token", params)
        token, expires_in = payload.get("access_token"), payload.get("expires_in")
        code = _errcode(payload)
        if code or not isinstance(token, str) or not token:
            log_event(logger, "wechat_token_refused", logging.ERROR, errcode=code)
            raise WeChatApiError(f"WeChat gave no access token (errcode {code})", code or None)
        return token, expires_in if isinstance(expires_in, int) and expires_in > 0 else DEFAULT_EXPIRES_IN

    # --- plumbing -------------------------------------------------------------------------------

    async def _call(self, path: str, body: dict[str, Any]) -> None:
        """POST `body` with the access token; a refused token is renewed and the call tried once more."""
        name = path.rsplit("/", 1)[-1]
        for attempt in (1, 2):
            token = await self._token()
            payload = await self._twice(name, "POST", path, {"access_token": token}, _body(body))
            code = _errcode(payload)
            if code == 0:
                return
            if code in TOKEN_REFUSED and attempt == 1:
                log_event(logger, "wechat_token_rejected", logging.WARNING, call=name, errcode=code)
                await self.tokens.invalidate(token)
                continue
            log_event(logger, "wechat_call_refused", logging.WARNING, call=name, errcode=code)
            raise WeChatApiError(f"WeChat refused {name} (errcode {code}: {payload.get('errmsg', '')})", code)

    async def _token(self) -> str:
        try:
            return await self.tokens.get()
        except TokenUnavailable as exc:
            raise WeChatApiError(str(exc)) from exc

    async def _twice(self, name: str, method: str, path: str, params: dict[str, str],
                     data: bytes | None = None) -> dict[str, Any]:
        """The request once, and once more after a pause when it failed in transit."""
        try:
            return await self._request(method, path, params, data)
        except _Transient as first:
            log_event(logger, "wechat_call_retry", logging.WARNING, call=name, error=str(first))
        await asyncio.sleep(self._retry_pause_s)
        try:
            return await self._request(method, path, params, data)
        except _Transient as second:
            log_event(logger, "wechat_unreachable", logging.ERROR, call=name, error=str(second))
            raise WeChatApiError(f"WeChat did not answer {name}: {second}") from second

    async def _request(self, method: str, path: str, params: dict[str, str], data: bytes | None = None) -> dict[str, Any]:
        session = await self._client()
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        try:
            async with session.request(method, f"{self._base_url}{path}", params=params, data=data,
                                       headers=headers) as answer:
                if answer.status >= 500:
                    raise _Transient(f"http_{answer.status}")
                raw = await answer.read()
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise _Transient(type(exc).__name__) from exc
        try:
            payload = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            raise _Transient("bad_json") from exc
        if not isinstance(payload, dict):
            raise _Transient("bad_json")
        if _errcode(payload) == SYSTEM_BUSY:
            raise _Transient("system_busy")
        return payload
