"""scripts/serve_rasa.py: the arguments Rasa's own CLI gets, CORS outside socket.io, and the start-up refusals."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import aiohttp
import pytest
from sanic import Sanic, response

import scripts.serve_rasa as serve_rasa
from scripts.serve_rasa import LaunchError, configure_cors_outside_socketio, cors_origins, rasa_argv
from tests.desk_harness import serving
from tests.unit.test_serve_actions import isolate, placeholder

SECRET = "-starts-with-a-dash-unit-test-jwt-secret-0123"  # token_urlsafe may start with "-"
ORIGINS = ("https://shop.example.com", "http://127.0.0.1:5006")


def parsed(argv: list[str]) -> object:
    """What Rasa's CLI makes of `argv` (the same parser `rasa` uses)."""
    from rasa.__main__ import create_argument_parser

    return create_argument_parser().parse_args(argv[1:])


def test_run_gets_the_api_the_jwt_and_the_widget_origins() -> None:
    argv = rasa_argv(["--model", "models/x.tar.gz", "--port", "5005", "--endpoints", "endpoints.yml"], ORIGINS, SECRET)
    args = parsed(argv)
    assert argv[:2] == ["rasa", "run"]
    assert args.enable_api is True and args.jwt_secret == SECRET and args.jwt_method == "HS256"
    assert args.cors == list(ORIGINS) and args.auth_token is None
    assert (args.model, args.port, args.endpoints, args.interface) == ("models/x.tar.gz", 5005, "endpoints.yml",
                                                                       "127.0.0.1")


def test_the_callers_interface_is_kept() -> None:
    args = parsed(rasa_argv(["run", "--interface", "0.0.0.0"], ORIGINS, SECRET))
    assert args.interface == "0.0.0.0" and args.cors == list(ORIGINS)
    assert parsed(rasa_argv(["-i", "10.0.0.2"], ORIGINS, SECRET)).interface == "10.0.0.2"


def test_a_positional_model_still_works(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Rasa turns a last positional path into --model before parsing (rasa.cli.utils); --cors must not eat it."""
    from rasa.cli.utils import parse_last_positional_argument_as_model_path

    model = tmp_path / "x.tar.gz"
    model.write_bytes(b"")
    monkeypatch.setattr(sys, "argv", rasa_argv(["run", "--interface", "0.0.0.0", str(model)], ORIGINS, SECRET))
    parse_last_positional_argument_as_model_path()
    args = parsed(sys.argv)
    assert args.model == str(model) and args.cors == list(ORIGINS)


def test_shell_is_locked_too_but_needs_no_api() -> None:
    argv = rasa_argv(["shell", "--model", "models/x.tar.gz"], ORIGINS, SECRET)
    args = parsed(argv)
    assert argv[:2] == ["rasa", "shell"]
    assert args.jwt_secret == SECRET and args.interface == "127.0.0.1" and args.enable_api is False


def test_no_widget_origins_means_no_cors() -> None:
    assert parsed(rasa_argv([], (), SECRET)).cors == []


@pytest.mark.parametrize("owned", ["--auth-token", "--auth-token=x", "--auth", "-t", "-tx", "--jwt-secret=x",
                                   "--jwt-s", "--jwt-method", "--jwt-private-key", "--cors", "--cors=*"])
def test_options_the_launcher_owns_are_refused(owned: str) -> None:
    with pytest.raises(LaunchError):
        rasa_argv(["run", owned, "x"], ORIGINS, SECRET)


@pytest.mark.parametrize("origin", ["*", "https://*.example.com", "https://shop.example.com/", "https://shop.example.com/chat",
                                    "shop.example.com", "http://[::1]:5006", "https://shop.example.com?x"])
def test_widget_origins_must_be_exact_origins(origin: str) -> None:
    with pytest.raises(LaunchError):
        cors_origins([origin])


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(LaunchError):
        rasa_argv([], ORIGINS, "")


async def test_cors_is_left_to_socketio_on_its_path() -> None:
    app = Sanic("unit_test_cors_outside_socketio")
    configure_cors_outside_socketio(app, list(ORIGINS))

    @app.get("/conversations/<sender>/tracker")
    async def tracker(_: object, sender: str) -> response.HTTPResponse:
        return response.json({"sender": sender})

    @app.get("/socket.io/")
    async def socketio(_: object) -> response.HTTPResponse:
        return response.text("ok", headers={"Access-Control-Allow-Origin": ORIGINS[0]})  # as python-socketio does

    async with serving(app) as url, aiohttp.ClientSession() as session:
        async def allowed(path: str, origin: str) -> list[str]:
            async with session.get(f"{url}{path}", headers={"Origin": origin}) as answer:
                return answer.headers.getall("Access-Control-Allow-Origin", [])

        assert await allowed("/conversations/x/tracker", ORIGINS[0]) == [ORIGINS[0]]
        assert await allowed("/conversations/x/tracker", "https://evil.example") == []
        assert await allowed("/socket.io/", ORIGINS[0]) == [ORIGINS[0]]  # once: socket.io's own


def test_refuses_to_start_with_a_published_jwt_secret(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    isolate(monkeypatch, tmp_path, RASA_JWT_SECRET=placeholder("RASA_JWT_SECRET"))
    assert serve_rasa.main(["run", "--model", "models/xiaozhi.tar.gz"]) == 2
    assert "RASA_JWT_SECRET is written in deploy/env.sample" in capsys.readouterr().err


def test_refuses_a_wildcard_origin(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    isolate(monkeypatch, tmp_path, WIDGET_ORIGINS="*")
    assert serve_rasa.main(["run"]) == 2
    assert "WIDGET_ORIGINS" in capsys.readouterr().err


def test_refuses_a_url_token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate(monkeypatch, tmp_path)
    assert serve_rasa.main(["run", "--auth-token", "x"]) == 2


def test_hands_rasa_the_secrets_inside_the_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import rasa.__main__
    import rasa.server

    isolate(monkeypatch, tmp_path, WIDGET_ORIGINS=",".join(ORIGINS))
    monkeypatch.setattr(sys, "argv", ["scripts/serve_rasa.py", "run", "--port", "5999"])
    monkeypatch.setattr(rasa.server, "configure_cors", rasa.server.configure_cors)  # restored after the test
    seen: dict[str, object] = {}
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.update(argv=list(sys.argv),
                                                                  token=os.environ.get("ACTION_SERVER_TOKEN")))
    assert serve_rasa.main() == 0
    jwt_secret = (tmp_path / "rasa_jwt_secret").read_text().strip()
    assert seen["token"] == (tmp_path / "action_server_token").read_text().strip()
    args = parsed(seen["argv"])  # type: ignore[arg-type]
    assert args.jwt_secret == jwt_secret and args.port == 5999 and args.cors == list(ORIGINS)
    assert rasa.server.configure_cors is configure_cors_outside_socketio
