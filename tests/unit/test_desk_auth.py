"""Desk authentication: passwords, tokens (staff apart from the bot's), login, logout, 401s, the signing key, demo
accounts (embedded mode only), the staff CLI ending tokens, and `python -m desk` refusing published secrets."""

from __future__ import annotations

import argparse
import os
import stat
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import jwt
import pytest

from desk.auth import DEMO_STAFF, AuthError, PasswordHasher, Role, StaffDirectory, StaffMember, TokenIssuer
from desk.errors import Unauthorized
from desk.handoff_api import check_bot_token
from desk.revocation import TokenRevocations
from desk.staff import parser, run
from scripts.launch import ROOT, http, start_desk
from service.clock import CST
from service.db import make_engine
from service.desk_client import bot_token
from service.desk_keys import BOT_AUDIENCE, STAFF_AUDIENCE, bot_token_key, staff_token_key
from service.migrate import upgrade
from service.settings import SettingsError, desk_signing_key, load_settings
from service.tickets import build_ticket_service
from tests.desk_harness import FAST_HASHER, Desk, MovableClock, running_desk

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
    claims = jwt.decode(token, staff_token_key(SECRET), algorithms=["HS256"], audience=STAFF_AUDIENCE)
    assert {k: claims[k] for k in ("sub", "role", "name", "department", "aud", "gen")} == {
        "sub": "agent1", "role": "坐席", "name": "小王", "department": "售后技术", "aud": STAFF_AUDIENCE, "gen": 0}
    assert claims["exp"] - claims["iat"] == 8 * 3600
    assert len(claims["jti"]) == 32 and claims["jti"] != jwt.decode(
        TokenIssuer(SECRET).issue(member)[0], options={"verify_signature": False})["jti"]
    with pytest.raises(jwt.InvalidSignatureError):  # signed with the derived key, never the secret itself
        jwt.decode(token, SECRET, algorithms=["HS256"], audience=STAFF_AUDIENCE)
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
    rasa_secret = "r" * 40
    settings = load_settings({"DESK_SECRET": SECRET, "RASA_JWT_SECRET": rasa_secret, "DESK_DEMO_PASSWORD": "pw-123456",
                              "RASA_URL": "http://rasa:5005/"})
    assert (settings.rasa_url, settings.desk_demo_password) == ("http://rasa:5005", "pw-123456")
    shown = repr(settings)
    assert SECRET not in shown and rasa_secret not in shown and "pw-123456" not in shown
    assert "desk_secret='***'" in shown and "rasa_jwt_secret='***'" in shown
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


async def test_bot_and_staff_tokens_do_not_stand_in_for_each_other(desk: Desk, tmp_path: Path) -> None:
    secret = desk_signing_key(load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)}))
    bot, staff = bot_token(secret), await desk.login("supervisor")
    # a bot token on the staff routes
    for path in ("/api/me", "/api/tickets", "/api/handoff/queue", "/api/audit"):
        status, body = await desk.call("GET", path, bot)
        assert (status, body["error"]) == (401, "invalid_token"), path
        assert "not a staff token" in body["reason"]
    # a staff token (even a 主管's) on the bot's routes
    handoff = {"sender_id": "web-x", "reason": "request_human", "intent": "query_logistics"}
    for path, body in (("/api/handoff/sessions", handoff), ("/api/handoff/sessions/s1/messages", {"text": "hi"}),
                       ("/api/handoff/sessions/s1/leave", {})):
        status, answer = await desk.call("POST", path, staff, body)
        assert (status, answer["error"]) == (401, "invalid_token"), path
        assert "staff token" in answer["reason"]
    # old-style tokens signed with the secret itself, and tokens with the other audience, pass neither door
    now = int(time.time())
    old_bot = jwt.encode({"sub": "bot", "role": "bot", "iat": now, "exp": now + 60}, secret, algorithm="HS256")
    staff_aud_bot_key = jwt.encode({"sub": "supervisor", "role": "主管", "aud": STAFF_AUDIENCE, "jti": "x" * 32,
                                    "exp": now + 60}, bot_token_key(secret), algorithm="HS256")
    bot_aud_staff_key = jwt.encode({"sub": "bot", "role": "bot", "aud": BOT_AUDIENCE, "exp": now + 60},
                                   staff_token_key(secret), algorithm="HS256")
    assert (await desk.call("POST", "/api/handoff/sessions", old_bot, handoff))[0] == 401
    assert (await desk.call("POST", "/api/handoff/sessions", bot_aud_staff_key, handoff))[0] == 401
    assert (await desk.call("GET", "/api/me", staff_aud_bot_key))[0] == 401
    # each token at its own door
    assert (await desk.call("POST", "/api/handoff/sessions", bot, handoff))[0] in (200, 201)
    assert (await desk.call("GET", "/api/me", staff))[0] == 200


def test_bot_token_check_is_pure() -> None:
    check_bot_token(bot_token(SECRET), bot_token_key(SECRET))
    staff, _ = TokenIssuer(SECRET).issue(DEMO_STAFF[2])
    for token in (staff, bot_token("another-secret-of-forty-characters-long!"), bot_token(SECRET, now=time.time() - 600)):
        with pytest.raises(Unauthorized):
            check_bot_token(token, bot_token_key(SECRET))
    with pytest.raises(AuthError, match="not a staff token"):
        TokenIssuer(SECRET).verify(bot_token(SECRET))


async def test_logout_revokes_the_token_and_only_that_one(desk: Desk, tmp_path: Path) -> None:
    token, other = await desk.login("agent1"), await desk.login("agent1")
    status, body = await desk.call("POST", "/api/auth/logout", token)
    assert (status, body) == (200, {"ok": True})
    for path in ("/api/me", "/api/tickets"):
        status, body = await desk.call("GET", path, token)
        assert (status, body["error"]) == (401, "token_revoked"), path
    assert (await desk.call("POST", "/api/auth/logout", token))[1]["error"] == "token_revoked"
    assert (await desk.call("POST", "/api/auth/logout"))[1]["error"] == "missing_token"
    bot = bot_token(desk_signing_key(load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})))
    assert (await desk.call("POST", "/api/auth/logout", bot))[1]["error"] == "invalid_token"  # not a staff token
    assert (await desk.call("GET", "/api/me", other))[0] == 200  # the other session goes on
    assert (await desk.call("GET", "/api/me", await desk.login("agent1")))[0] == 200


def test_revoked_tokens_are_kept_until_they_expire_then_pruned(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'staff.db'}")
    upgrade(engine)
    directory = StaffDirectory(engine, FAST_HASHER)
    directory.seed_demo("pw")
    clock = MovableClock(datetime.now(CST).replace(tzinfo=None, microsecond=0))  # tokens are checked on real time
    revocations = TokenRevocations(engine, directory, clock)
    issuer = TokenIssuer(SECRET, ttl_s=3600, now=lambda: clock.moment.replace(tzinfo=CST).timestamp())
    first = issuer.verify(issuer.issue(DEMO_STAFF[0])[0])
    second = issuer.verify(issuer.issue(DEMO_STAFF[0])[0])
    revocations.revoke(first)
    revocations.revoke(first)  # twice is fine
    assert revocations.is_revoked(first.jti) and not revocations.is_revoked(second.jti)
    with pytest.raises(AuthError, match="logged out"):
        revocations.check(first)
    assert revocations.check(second).username == "agent1"
    clock.advance(hours=2)  # the first token has expired by now: the next revocation prunes it
    revocations.revoke(second)
    assert not revocations.is_revoked(first.jti) and revocations.is_revoked(second.jti)
    engine.dispose()


async def test_password_change_disable_and_cli_logout_end_existing_tokens(desk: Desk, tmp_path: Path) -> None:
    directory: StaffDirectory = desk.app.ctx.staff
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path)})

    def cli(*argv: str) -> str:
        return run(parser().parse_args(argv), directory, settings)

    token = await desk.login("agent1")
    assert "no longer work" in cli("passwd", "agent1", "--password", "new-pass-1")
    status, body = await desk.call("GET", "/api/me", token)
    assert (status, body["error"]) == (401, "token_revoked")
    token = await desk.login("agent1", "new-pass-1")
    assert (await desk.call("GET", "/api/me", token))[0] == 200

    cli("disable", "agent1")
    assert (await desk.call("GET", "/api/me", token))[1]["error"] == "account_disabled"
    cli("enable", "agent1")  # enabling again does not bring old tokens back
    assert (await desk.call("GET", "/api/me", token))[1]["error"] == "token_revoked"

    token = await desk.login("agent1", "new-pass-1")
    assert cli("logout", "agent1") == "every token of agent1 revoked"
    assert (await desk.call("GET", "/api/me", token))[1]["error"] == "token_revoked"
    with pytest.raises(ValueError, match="no account"):
        cli("logout", "nobody")


async def test_no_demo_accounts_in_scaled_mode(tmp_path: Path, desk_clock: MovableClock) -> None:
    settings = load_settings({"XIAOZHI_VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'd.db'}",
                              "XIAOZHI_MODE": "scaled", "DESK_SECRET": SECRET,
                              # scaled desks read the shared tracker store (reports, review): its key is required
                              "TRACKER_ENCRYPTION_KEY": "A" * 43 + "="})
    tickets = build_ticket_service(settings, desk_clock)
    async with running_desk(settings, tickets) as desk:
        assert desk.app.ctx.staff.count() == 0
        status, body = await desk.call("POST", "/api/auth/token", body={"username": "agent1", "password": "xiaozhi-demo"})
        assert (status, body["error"]) == (401, "bad_credentials")
    tickets._engine.dispose()


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


def _desk_process(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m desk` with only these settings (nothing inherited that could hold a secret)."""
    base = {"PATH": os.environ.get("PATH", ""), "XIAOZHI_VAR_DIR": str(tmp_path), "DESK_PORT": "1",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    return subprocess.run([sys.executable, "-m", "desk"], cwd=ROOT, env={**base, **env}, capture_output=True,
                          text=True, timeout=60)


def test_python_m_desk_refuses_a_published_secret_and_scaled_mode_without_one(tmp_path: Path) -> None:
    sample = next(line.split("=", 1)[1].strip() for line in (ROOT / "deploy" / "env.sample").read_text().splitlines()
                  if line.startswith("DESK_SECRET="))
    refused = _desk_process(tmp_path, DESK_SECRET=sample)
    assert refused.returncode == 2
    assert "DESK_SECRET is written in deploy/env.sample" in refused.stderr and sample not in refused.stderr
    unset = _desk_process(tmp_path, XIAOZHI_MODE="scaled")
    assert unset.returncode == 2 and "DESK_SECRET" in unset.stderr
    assert not (tmp_path / "desk_secret").exists()  # scaled mode never generates one
