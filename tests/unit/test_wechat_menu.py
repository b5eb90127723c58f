"""connectors/wechat_menu.py: the official account's menu from wechat_menu.yml."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.wechat_menu import MenuError, load_menu, main, menu_intents, menu_json
from service.settings import PROJECT_ROOT, Settings, load_settings
from tests.fake_wechat import FakeWeChat

APP_ID = "wx-menu-test"
SECRET = "menu-test-secret"
PROJECT_MENU = PROJECT_ROOT / "wechat_menu.yml"


@pytest.fixture
def fake() -> Iterator[FakeWeChat]:
    server = FakeWeChat(app_id=APP_ID, secret=SECRET)
    server.start()
    yield server
    server.stop()


def configured(tmp_path: Path, fake: FakeWeChat | None = None, **env: str) -> Settings:
    values = {"XIAOZHI_VAR_DIR": str(tmp_path), **env}
    if fake is not None:
        values.update(WECHAT_APP_ID=APP_ID, WECHAT_APP_SECRET=SECRET, WECHAT_API_BASE=fake.base_url)
    return load_settings(values)


def menu_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "menu.yml"
    path.write_text(body, encoding="utf-8")
    return path


def test_the_projects_menu_has_the_three_buttons() -> None:
    assert menu_intents(PROJECT_MENU) == {"MENU_ORDER_STATUS": "query_order_status",
                                          "MENU_LOGISTICS": "query_logistics", "MENU_HUMAN": "request_human"}
    assert [b["name"] for b in menu_json(load_menu(PROJECT_MENU))["button"]] == ["查订单", "查物流", "转人工"]


def test_dry_run_prints_what_wechat_would_get_without_credentials(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--dry-run"], settings=configured(tmp_path)) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["button"][0] == {"type": "click", "name": "查订单", "key": "MENU_ORDER_STATUS"}


def test_the_menu_is_set_on_wechat(tmp_path: Path, fake: FakeWeChat, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([], settings=configured(tmp_path, fake)) == 0
    assert fake.menus == [menu_json(load_menu(PROJECT_MENU))]
    assert "menu set" in capsys.readouterr().out


def test_sub_buttons_become_a_submenu(tmp_path: Path, fake: FakeWeChat) -> None:
    path = menu_file(tmp_path, """
buttons:
  - name: 查询
    sub_buttons:
      - {name: 查订单, key: ORDER, intent: query_order_status}
      - {name: 查物流, key: TRACK, intent: query_logistics}
  - {name: 转人工, key: HUMAN, intent: request_human}
""")
    assert main(["--file", str(path)], settings=configured(tmp_path, fake)) == 0
    assert fake.menus[0]["button"][0] == {"name": "查询", "sub_button": [
        {"type": "click", "name": "查订单", "key": "ORDER"}, {"type": "click", "name": "查物流", "key": "TRACK"}]}
    assert menu_intents(path) == {"ORDER": "query_order_status", "TRACK": "query_logistics", "HUMAN": "request_human"}


def test_missing_credentials_are_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([], settings=configured(tmp_path)) == 2
    assert "WECHAT_APP_ID and WECHAT_APP_SECRET" in capsys.readouterr().err


@pytest.mark.parametrize(("body", "says"), [
    ("buttons: [", "not valid YAML"),
    ("menu: []", "top-level 'buttons:'"),
    ("buttons: []", "1 to 3"),
    ("buttons:\n" + "".join(f"  - {{name: 甲, key: K{i}, intent: greet}}\n" for i in range(4)), "1 to 3"),
    ("buttons:\n  - {name: 这个按钮名字太长了啊, key: K, intent: greet}", "16 bytes"),
    ("buttons:\n  - {name: 甲, key: K, intent: greet}\n  - {name: 乙, key: K, intent: thank}", "once: K"),
    ("buttons:\n  - {name: 甲, key: K, intent: EXTERNAL_agent_message}", "lower case"),
    ("buttons:\n  - {name: 甲, key: K, intent: no_such_intent}", "not in domain.yml: no_such_intent"),
    ("buttons:\n  - {name: 甲, key: 'a b', intent: greet}", "'key'"),
    ("buttons:\n  - {name: 甲, sub_buttons: []}", "1 to 5"),
    ("buttons:\n  - {name: 甲, intent: greet}", "'key'"),
])
def test_a_wrong_file_is_refused_with_the_reason(tmp_path: Path, fake: FakeWeChat, capsys: pytest.CaptureFixture[str],
                                                 body: str, says: str) -> None:
    path = menu_file(tmp_path, body)
    assert main(["--file", str(path)], settings=configured(tmp_path, fake)) == 2
    assert says in capsys.readouterr().err
    assert fake.menus == [] and fake.token_requests == 0


def test_a_missing_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--file", str(tmp_path / "nope.yml"), "--dry-run"], settings=configured(tmp_path)) == 2
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(MenuError):
        menu_intents(tmp_path / "nope.yml")


def test_wechat_refusing_the_menu_is_exit_1(tmp_path: Path, fake: FakeWeChat, capsys: pytest.CaptureFixture[str]) -> None:
    fake.fail_next(40018)
    assert main([], settings=configured(tmp_path, fake)) == 1
    assert "40018" in capsys.readouterr().err


def test_the_command_runs_as_a_module(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "connectors.wechat_menu", "--dry-run"], capture_output=True,
                          text=True, timeout=60, cwd=PROJECT_ROOT, env={"XIAOZHI_VAR_DIR": str(tmp_path), "PATH": ""})
    assert done.returncode == 0, done.stderr
    assert "查订单" in done.stdout  # the Chinese as it is, not \\u escapes
