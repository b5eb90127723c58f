"""`python -m desk`: the staff desk on DESK_HOST:DESK_PORT (127.0.0.1:5006 by default).

Refuses to start (exit 2, the reason on stderr) with a secret that is written in the repository (the samples in
deploy/, the README, ...) or, in scaled mode, without the secrets it needs (service/secrets.py).
"""

from __future__ import annotations

import logging
import os
import sys

from desk.app import create_app
from service.logs import install_log_scrubbing
from service.secrets import check_secrets
from service.settings import SettingsError, get_settings
from service.tickets.policy import PolicyError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 5006


def main() -> int:
    install_log_scrubbing()  # no full phone or ID number in any log line
    try:
        settings = get_settings()
        check_secrets(settings)
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        host = os.environ.get("DESK_HOST") or DEFAULT_HOST
        port = int(os.environ.get("DESK_PORT") or DEFAULT_PORT)
        app = create_app(settings)
    except (SettingsError, PolicyError) as exc:
        print(f"desk: {exc}", file=sys.stderr)
        return 2
    except ValueError:
        print("desk: DESK_PORT must be a port number", file=sys.stderr)
        return 2
    print(f"desk: http://{host}:{port}/docs", flush=True)
    app.run(host=host, port=port, workers=1, motd=False, access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
