"""The action server (rasa-sdk) with its door locked: every call but /health must carry ACTION_SERVER_TOKEN.

    python scripts/serve_actions.py [--port 5055] [--actions actions]

Rasa sends the token on every action call as `Authorization: Bearer <token>` (the `headers` of
`action_endpoint` in endpoints.yml; scripts/serve_rasa.py puts the token into the environment
Rasa expands there). Without it, anyone who can reach the server could post a forged tracker and
have an action cancel any order. Listens on 127.0.0.1 unless ACTIONS_HOST says otherwise (the
containers of deploy/ set 0.0.0.0); the port is --port, else ACTIONS_PORT, else 5055. Refuses to
start (exit 2) when service.secrets.check_secrets does.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.startup import checked_secrets, install_scrubbing  # noqa: E402
from service.logs import log_event  # noqa: E402
from service.settings import SettingsError, load_settings  # noqa: E402

logger = logging.getLogger(__name__)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5055
OPEN_PATHS = frozenset({"/health"})
TOKEN_HEADER = "Authorization"
TOKEN_PREFIX = "Bearer "


def token_matches(header: str | None, token: str) -> bool:
    """Whether an Authorization header carries `token` (compared in constant time)."""
    if not header or not token or not header.startswith(TOKEN_PREFIX):
        return False
    return hmac.compare_digest(header[len(TOKEN_PREFIX):].encode(), token.encode())


def require_token(app: Sanic, token: str, open_paths: Collection[str] = OPEN_PATHS) -> None:
    """Answer 401 JSON to every request of `app` outside `open_paths` that does not carry `token`."""
    if not token:
        raise ValueError("require_token needs a token")

    @app.middleware("request")
    async def check_token(request: Request) -> HTTPResponse | None:
        if request.path in open_paths or token_matches(request.headers.get(TOKEN_HEADER), token):
            return None
        log_event(logger, "action_call_refused", level=logging.WARNING, path=request.path)
        return response.json({"error": "unauthorized", "reason": "the action server token is missing or wrong"},
                             status=401)


def build_app(token: str, actions_package: str | ModuleType = "actions") -> Sanic:
    """rasa-sdk's app, no CORS (no browser calls it), with the token check in front of every route."""
    from rasa_sdk.endpoint import create_app

    app = create_app(actions_package, cors_origins=None)
    require_token(app, token)
    return app


@dataclass(frozen=True)
class Options:
    host: str
    port: int
    actions: str


def parse_options(argv: Sequence[str], env: Mapping[str, str]) -> Options:
    """--port beats ACTIONS_PORT beats 5055; ACTIONS_HOST or 127.0.0.1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, help=f"default: ACTIONS_PORT, else {DEFAULT_PORT}")
    parser.add_argument("--actions", default="actions", help="the package of actions to load")
    args = parser.parse_args(list(argv))
    raw_port = args.port if args.port is not None else (env.get("ACTIONS_PORT") or DEFAULT_PORT)
    try:
        port = int(raw_port)
    except ValueError:
        parser.error(f"ACTIONS_PORT must be a port number, got {raw_port!r}")
    if not 0 < port < 65536:
        parser.error(f"the port must be between 1 and 65535, got {port}")
    return Options(host=env.get("ACTIONS_HOST") or DEFAULT_HOST, port=port, actions=args.actions)


def main(argv: Sequence[str] | None = None) -> int:
    install_scrubbing()
    options = parse_options(sys.argv[1:] if argv is None else argv, os.environ)
    try:
        settings = load_settings()
        token = checked_secrets(settings, "ACTION_SERVER_TOKEN")["ACTION_SERVER_TOKEN"]
    except SettingsError as exc:
        print(f"serve_actions: {exc}", file=sys.stderr)
        return 2

    from rasa_sdk import utils
    from rasa_sdk.plugin import plugin_manager

    utils.configure_colored_logging(settings.log_level)
    utils.update_sanic_log_level()
    app = build_app(token, options.actions)
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    log_event(logger, "action_server_starting", host=options.host, port=options.port)
    app.run(options.host, options.port, workers=utils.number_of_sanic_workers(), motd=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
