"""Desk authentication: passwords, tokens, login, 401s, the signing key, demo accounts and the staff CLI."""

from __future__ import annotations

import argparse
import stat
import time
from pathlib import Path

import jwt
import pytest

from desk.auth import DEMO_STAFF, PasswordHasher, Role, StaffDirectory, StaffMember, TokenIssuer
from desk.staff import parser, run
from scripts.launch import http, start_desk
from service.db import make_engine
from service.migrate import upgrade
from service.settings import SettingsError, desk_signing_key, load_settings
from tests.desk_harness import FAST_HASHER, Desk

SECRET = "k" * 40


# --- pure pieces ------------------------------------------------------------------------------------


def test_password_hashes_are_salted_and_checked() -> None:
    hasher = PasswordHasher(iterations=1_000)
    first, second = hasher.hash("xiaozhi-demo"), hasher.hash("xiaozhi-demo")
    assert first != second and first.startswith("pbkdf2_sha256$1000$")
    assert hasher.verify("xiaozhi-demo", first) and not hasher.verify("xiaozhi-dem0", first)
    assert not hasher.verify("xiaozhi-demo", "md5$oops") and not hasher.verify("x", "")
    assert PasswordHasher().iterations >= 600_000


def test_tokens_carry_the_claims_and_expire() -> None:
    member = StaffMember("agent1", "小王", Role.AGENT, "售后技术")
    token, expires_at = TokenIssuer(SECRET).issue(member)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert {k: claims[k] for k in ("sub", "role", "name", "department")} == {
        "sub": "agent1", "role": "坐席", "name": "小王", "department": "售后技术"}
    assert claims["exp"] - claims["iat"] == 8 * 3600
    assert TokenIssuer(SECRET).verify(token).expires_at == expires_at
    stale, _ = TokenIssuer(SECRET, now=lambda: time.time() - 9 * 3600).issue(member)
    with pytest.raises(Exception, match="expired"):
        TokenIssuer(SECRET).verify(stale)


def test_signing_key_is_generated_once_private_and_shared(tmp_path: Path) -> None:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path / "var")})
    key = desk_signing_key(settings)
    assert len(key) >= 32 and desk_signing_key(load_settings({"XIAOZHI_VAR_DIR": str(tmp_path / "var")})) == key
    assert stat.S_IMODE((tmp_path / "var" / "desk_secret").stat().st_mode) == 0o600
    assert desk_signing_key(load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DESK_SECRET": SECRET})) == SECRET
    assert not (tmp_path / "desk_secret").exists()


def test_desk_settings_are_checked_and_masked() -> None:
    with pytest.raises(SettingsError, match="DESK_SECRET"):
        load_settings({"DESK_SECRET": "short"})
    with pytest.raises(SettingsError, match="RASA_URL"):
        load_settings({"RASA_URL": "localhost:5005"})
    settings = load_settings({"DESK_SECRET": SECRET, "RASA_TOKEN": "rasa-token-1", "DESK_DEMO_PASSWORD": "pw-123456",
                              "RASA_URL": "http://rasa:5005/"})
    assert (settings.rasa_url, settings.desk_demo_password) == ("http://rasa:5005", "pw-123456")
    shown = repr(settings)
    assert SECRET not in shown and "rasa-token-1" not in shown and "pw-123456" not in shown
    assert "desk_secret='***'" in shown and "rasa_token='***'" in shown
    assert load_settings({}).desk_demo_password == "xiaozhi-demo"


# --- over HTTP ----------------------------------------------------------------------------------------


async def test_login_gives_a_token_and_me(desk: Desk) -> None:
    status, body = await desk.call("POST", "/api/auth/token", body={"username": "supervisor", "password": "xiaozhi-demo"})
    assert status == 200 and (body["role"], body["name"]) == ("主管", "周主管")
    assert body["expires_at"].endswith("+08:00")
    status, me = await desk.call("GET", "/api/me", body["token"])
    assert status == 200
    assert (me["username"], me["role"], me["department"]) == ("supervisor", "主管", "客服中心")


@pytest.mark.parametrize("credentials", [
    {"username": "agent1", "password": "wrong"},
    {"username": "nobody", "password": "xiaozhi-demo"},
    {"username": "agent1", "password": ""},
])
async def test_wrong_credentials_are_401(desk: Desk, credentials: dict[str, str]) -> None:
    status, body = await desk.call("POST", "/api/auth/token", body=credentials)
    assert (status, body["error"]) == (401, "bad_credentials")


@pytest.mark.parametrize("body", [None, ["agent1"], {"username": "agent1"}, {"username": "agent1", "password": 1}])
async def test_malformed_logins_are_400(desk: Desk, body: object) -> None:
    status, answer = await desk.call("POST", "/api/auth/token", body=body)
    assert status == 400 and answer["error"] == "bad_body" and answer["reason"]


async def test_missing_forged_and_expired_tokens_are_401(desk: Desk, tmp_path: Path) -> None:
    good = await desk.login("agent1")
    key = desk_signing_key(load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)}))
    member = StaffMember("agent1", "小王", Role.AGENT, "售后技术")
    header, payload, _signature = good.split(".")
    promoted = jwt.encode({**jwt.decode(good, options={"verify_signature": False}), "role": "主管"}, "x" * 40)
    cases = {
        None: "missing_token",
        "": "missing_token",
        "not-a-jwt": "invalid_token",
        TokenIssuer("another-secret-of-forty-characters-long!").issue(member)[0]: "invalid_token",
        f"{header}.{promoted.split('.')[1]}.{_signature}": "invalid_token",
        jwt.encode({"sub": "agent1", "role": "坐席", "exp": time.time() + 60}, key, algorithm="HS512"): "invalid_token",
        jwt.encode({"sub": "agent1", "role": "坐席"}, key, algorithm="HS256"): "invalid_token",
        TokenIssuer(key, now=lambda: time.time() - 9 * 3600).issue(member)[0]: "token_expired",
    }
    for token, code in cases.items():
        for path in ("/api/me", "/api/tickets"):
            status, body = await desk.call("GET", path, token)
            assert (status, body["error"]) == (401, code), token
    async with desk.session.get(desk.url + "/api/me", headers={"Authorization": "Basic YWdlbnQxOng="}) as answer:
        assert answer.status == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert payload  # the untouched token still works
    assert (await desk.call("GET", "/api/me", good))[0] == 200


async def test_disabled_accounts_lose_access(desk: Desk) -> None:
    token = await desk.login("agent2")
    desk.app.ctx.staff.set_active("agent2", False)
    status, body = await desk.call("GET", "/api/tickets", token)
    assert (status, body["error"]) == (401, "account_disabled")
    status, body = await desk.call("POST", "/api/auth/token", body={"username": "agent2", "password": "xiaozhi-demo"})
    assert status == 401


# --- accounts -----------------------------------------------------------------------------------------


def test_demo_accounts_are_seeded_once(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'staff.db'}")
    upgrade(engine)
    directory = StaffDirectory(engine, FAST_HASHER)
    assert directory.seed_demo("xiaozhi-demo") == ["agent1", "agent2", "supervisor"]
    assert directory.seed_demo("xiaozhi-demo") == []
    assert [(m.username, m.name, m.role, m.department) for m in directory.all()] == [
        (m.username, m.name, m.role, m.department) for m in DEMO_STAFF]
    assert directory.authenticate("supervisor", "xiaozhi-demo") is not None
    engine.dispose()


def test_staff_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'staff.db'}")
    upgrade(engine)
    directory = StaffDirectory(engine, FAST_HASHER)
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})

    def cli(*argv: str) -> str:
        return run(parser().parse_args(argv), directory, settings)

    assert cli("add", "agent3", "--name", "小张", "--role", "坐席", "--department", "物流部", "--password", "pw1") \
        == "added agent3 (坐席, 物流部)"
    assert directory.authenticate("agent3", "pw1") == StaffMember("agent3", "小张", Role.AGENT, "物流部")
    with pytest.raises(ValueError, match="already exists"):
        cli("add", "agent3", "--name", "小张", "--role", "坐席", "--department", "物流部", "--password", "pw1")
    with pytest.raises(ValueError, match="department"):
        cli("add", "agent4", "--name", "小赵", "--role", "坐席", "--department", "火星部", "--password", "pw1")
    with pytest.raises(ValueError, match="username"):
        cli("add", "Agent 4", "--name", "小赵", "--role", "坐席", "--department", "物流部", "--password", "pw1")
    with pytest.raises(SystemExit):
        parser().parse_args(["add", "agent5", "--name", "x", "--role", "经理", "--department", "物流部"])
    cli("passwd", "agent3", "--password", "pw2")
    assert directory.authenticate("agent3", "pw2") is not None
    cli("disable", "agent3")
    assert directory.authenticate("agent3", "pw2") is None
    assert "agent3\t小张\t坐席\t物流部\tdisabled" in cli("list")
    assert isinstance(parser().parse_args(["list"]), argparse.Namespace)
    engine.dispose()


# --- the real process ---------------------------------------------------------------------------------


def test_python_m_desk_seeds_accounts_and_two_processes_share_the_key(tmp_path: Path) -> None:
    """A second desk on the same var dir: one key file (0600), one set of demo accounts, tokens valid on both."""
    shared = {"XIAOZHI_VAR_DIR": str(tmp_path)}
    first = start_desk(tmp_path / "first", shared)
    second = start_desk(tmp_path / "second", shared)
    try:
        status, login = http("POST", first.desk_url + "/api/auth/token",
                             {"username": "agent1", "password": "xiaozhi-demo"})
        assert status == 200
        status, me = http("GET", second.desk_url + "/api/me", headers={"Authorization": f"Bearer {login['token']}"})
        assert (status, me["username"]) == (200, "agent1")
    finally:
        first.stop()
        second.stop()
    assert stat.S_IMODE((tmp_path / "desk_secret").stat().st_mode) == 0o600
    logs = first.log("desk"), second.log("desk")
    assert ["demo_accounts_created" in log for log in logs] == [True, False]
    assert not any("xiaozhi-demo" in log or login["token"] in log for log in logs)
