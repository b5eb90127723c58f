"""deploy/nginx.conf for nginx as a local child process (scripts/scaled.py): the same routes, other addresses.

Only what differs between a container and a process on this machine is changed: the upstream servers
(`rasa1:5005` → `127.0.0.1:<port>`), the listening address, and where nginx keeps its pid, logs and
temporary files (under the work dir, in the foreground: `daemon off`). A name that is no longer in
deploy/nginx.conf stops the rendering with an error rather than leaving a route pointing nowhere.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Protocol

LISTEN = "listen 8080;"
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


class HasPorts(Protocol):
    """The ports nginx needs (scripts/scaled.py's Ports)."""

    @property
    def nginx(self) -> int: ...
    @property
    def rasa1(self) -> int: ...
    @property
    def rasa2(self) -> int: ...
    @property
    def desk1(self) -> int: ...
    @property
    def desk2(self) -> int: ...


class NginxConfError(ValueError):
    """deploy/nginx.conf no longer has what the local rendering replaces; the message says what."""


def upstream_addresses(ports: HasPorts) -> dict[str, str]:
    """The containers' addresses in deploy/nginx.conf and the loopback ones replacing them."""
    return {"rasa1:5005": f"127.0.0.1:{ports.rasa1}", "rasa2:5005": f"127.0.0.1:{ports.rasa2}",
            "desk1:5006": f"127.0.0.1:{ports.desk1}", "desk2:5006": f"127.0.0.1:{ports.desk2}"}


def render_nginx_conf(source: str, ports: HasPorts, prefix: Path, as_root: bool = False) -> str:
    """`source` (deploy/nginx.conf) with loopback upstreams and listen address, its files under `prefix`.

    `as_root`: nginx started by root hands its workers to `nobody`, who may not enter the work dir (pytest's
    are 0700), so the workers stay with the user who started it, as every other process of the set does.
    """
    text = source
    for container, local in upstream_addresses(ports).items():
        pattern = re.compile(rf"\bserver {re.escape(container)};")
        text, count = pattern.subn(f"server {local};", text)
        if not count:
            raise NginxConfError(f"deploy/nginx.conf has no `server {container};` any more")
    if text.count(LISTEN) != 1:
        raise NginxConfError(f"deploy/nginx.conf should have `{LISTEN}` once")
    text = text.replace(LISTEN, f"listen 127.0.0.1:{ports.nginx};")
    if text.count("http {") != 1:
        raise NginxConfError("deploy/nginx.conf should have one `http {` block")
    files = "".join(f"  {kind}_temp_path {prefix / 'temp' / kind};\n" for kind in TEMP_PATHS)
    text = text.replace("http {", f"http {{\n  access_log {prefix / 'access.log'};\n{files}", 1)
    head = ("# Rendered by scripts/scaled_nginx.py from deploy/nginx.conf: edit that file, not this one.\n"
            f"daemon off;\npid {prefix / 'nginx.pid'};\nerror_log stderr warn;\n" + ("user root;\n" if as_root else ""))
    return head + text


def make_prefix(prefix: Path) -> None:
    """The directories nginx wants under its prefix."""
    for kind in TEMP_PATHS:
        (prefix / "temp" / kind).mkdir(parents=True, exist_ok=True)
    (prefix / "logs").mkdir(exist_ok=True)  # nginx opens <prefix>/logs/error.log before it reads error_log
