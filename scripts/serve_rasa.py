"""Rasa's server (or `rasa shell`) with its doors locked.

    python scripts/serve_rasa.py [run|shell] [rasa run options: --model, --port, --endpoints, …]

- the HTTP API is on (`run` adds --enable-api) and takes only a JWT signed with RASA_JWT_SECRET
  (HS256) in the Authorization header; Rasa's `?token=` (--auth-token) is refused;
- CORS only for WIDGET_ORIGINS, and not on socket.io's path, where python-socketio answers it
  (connectors/socketio_channel.py): two Access-Control-Allow-Origin headers make a browser refuse both;
- a custom action that fails (action server down, 5xx, slower than ACTION_CALL_TIMEOUT_S) gets the customer
  utter_backend_error instead of silence (connectors/action_failure.py);
- ACTION_SERVER_TOKEN is put into this process's environment, where endpoints.yml's
  `${ACTION_SERVER_TOKEN}` finds it, so Rasa's action calls pass the action server's check;
- listens on 127.0.0.1 unless --interface says otherwise;
- secrets never on a command line: they are added to this process's sys.argv before Rasa's own CLI
  parses it, and /proc/<pid>/cmdline (what `ps` shows) keeps the original arguments.
Refuses to start (exit 2) when service.secrets.check_secrets does, or on options it owns.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors import action_failure, action_validation, model_load  # noqa: E402
from desk.rasa_client import JWT_ALGORITHM  # noqa: E402
from scripts.startup import checked_secrets, install_scrubbing  # noqa: E402
from service.logs import log_event  # noqa: E402
from service.settings import SettingsError, load_settings  # noqa: E402

logger = logging.getLogger(__name__)
COMMANDS = ("run", "shell")
DEFAULT_INTERFACE = "127.0.0.1"
# Set here from the settings, so a command line cannot weaken them (argparse also takes abbreviations: --auth, --jwt-s).
OWNED_OPTIONS = ("--auth-token", "--jwt-secret", "--jwt-method", "--jwt-private-key", "--cors")
OUTSIDE_SOCKETIO = r"^(?!/socket\.io(/|$)).*"  # a sanic-cors resource: every path but socket.io's
ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$")  # scheme://host[:port]: no path, no wildcard


class LaunchError(ValueError):
    """The arguments or settings would start Rasa with a door open; the message says which."""


def _long_name(argument: str) -> str | None:
    return argument.split("=", 1)[0] if argument.startswith("--") and len(argument) > 2 else None


def _refuse_owned(arguments: Sequence[str]) -> None:
    for argument in arguments:
        name = _long_name(argument)
        owned = [option for option in OWNED_OPTIONS if name and option.startswith(name)]
        if owned or (argument.startswith("-t") and not argument.startswith("--")):
            raise LaunchError(f"{argument.split('=', 1)[0]} is set by serve_rasa.py from the settings "
                              "(RASA_JWT_SECRET, WIDGET_ORIGINS); leave it out")


def _gives_interface(arguments: Sequence[str]) -> bool:
    return any(argument.startswith("-i") and not argument.startswith("--") or
               ((name := _long_name(argument)) is not None and "--interface".startswith(name) and len(name) >= 3)
               for argument in arguments)


def cors_origins(origins: Sequence[str]) -> list[str]:
    """WIDGET_ORIGINS as Rasa's --cors takes them: exact origins (sanic-cors reads `*`, `?`, `]` as a regex)."""
    for origin in origins:
        if not ORIGIN.match(origin):
            raise LaunchError(f"WIDGET_ORIGINS: {origin!r} is not an origin like https://shop.example.com "
                              "(no wildcard, no path)")
    return list(origins)


def rasa_argv(arguments: Sequence[str], origins: Sequence[str], jwt_secret: str) -> list[str]:
    """The argv Rasa's CLI parses: our command (`run` by default) and options first, then the caller's."""
    rest = list(arguments)
    command = rest.pop(0) if rest and rest[0] in COMMANDS else "run"
    _refuse_owned(rest)
    if not jwt_secret:
        raise LaunchError("RASA_JWT_SECRET is empty")
    # --cors takes any number of values, so options follow it; `=` keeps a secret that starts with "-" a value.
    argv = ["rasa", command, "--cors", *cors_origins(origins), f"--jwt-method={JWT_ALGORITHM}",
            f"--jwt-secret={jwt_secret}"]
    if command == "run":
        argv.append("--enable-api")
    if not _gives_interface(rest):
        argv += ["--interface", DEFAULT_INTERFACE]
    return argv + rest


def configure_cors_outside_socketio(app: Any, cors_origins: str | list[str] | None = "") -> None:
    """rasa.server.configure_cors (the same settings) for every path but socket.io's.

    Rasa 3.6 gives CORS to "/*"; python-socketio adds its own header for WIDGET_ORIGINS on its long-polling
    answers, and a browser refuses an answer with two Access-Control-Allow-Origin headers.
    """
    from sanic_cors import CORS

    app.config.CORS_AUTOMATIC_OPTIONS = True
    app.config.CORS_SUPPORTS_CREDENTIALS = True
    app.config.CORS_EXPOSE_HEADERS = "filename"
    CORS(app, resources={OUTSIDE_SOCKETIO: {"origins": cors_origins or ""}}, automatic_options=True)


def main(argv: Sequence[str] | None = None) -> int:
    install_scrubbing()
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        settings = load_settings()
        secrets = checked_secrets(settings, "RASA_JWT_SECRET", "ACTION_SERVER_TOKEN")
        rasa_arguments = rasa_argv(arguments, settings.widget_origins, secrets["RASA_JWT_SECRET"])
    except (SettingsError, LaunchError) as exc:
        print(f"serve_rasa: {exc}", file=sys.stderr)
        return 2
    os.environ["ACTION_SERVER_TOKEN"] = secrets["ACTION_SERVER_TOKEN"]  # for ${ACTION_SERVER_TOKEN} in endpoints.yml
    # Until Rasa sets up its own logging (which replaces this stderr handler, so nothing is printed twice).
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    log_event(logger, "rasa_server_starting", command=rasa_arguments[1], mode=settings.mode,
              cors=",".join(settings.widget_origins) or "none")
    import rasa.server
    from rasa.__main__ import main as rasa_main

    rasa.server.configure_cors = configure_cors_outside_socketio  # both of Rasa's callers look it up there
    action_failure.install(settings.action_call_timeout_s)
    action_validation.install()  # the answer schema checked once, not on every action call
    model_load.install()  # the TensorFlow models load in seconds instead of ~40 s (connectors/model_load.py)
    sys.argv = rasa_arguments
    rasa_main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
