"""The official account's menu, from wechat_menu.yml: checked, written as WeChat's JSON, and set.

    python -m connectors.wechat_menu [--file wechat_menu.yml] [--dry-run]

--dry-run prints the JSON WeChat would get and calls nothing. Otherwise WECHAT_APP_ID and WECHAT_APP_SECRET
must be set (the access token is the one the Rasa servers share, in the bot's database). Exit status: 0 done,
2 a setting or the file is wrong (the message says what), 1 WeChat refused the menu or did not answer.

The file (see wechat_menu.yml): `buttons:`, a list of {name, key, intent} (a click: the bot gets the intent)
or {name, sub_buttons: [...]} of such clicks. `menu_intents(path)` gives the channel its key -> intent table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from service.settings import PROJECT_ROOT, Settings, SettingsError, get_settings

MAX_BUTTONS = 3
MAX_SUB_BUTTONS = 5
MAX_NAME_BYTES = 16  # a top-level button (WeChat's limit)
MAX_SUB_NAME_BYTES = 60
MAX_KEY_BYTES = 128
_KEY = re.compile(r"[A-Za-z0-9_-]+")
# An intent a customer may ask for: lower case, so never one of the desk's EXTERNAL_* intents.
_INTENT = re.compile(r"[a-z][a-z0-9_]*")


class MenuError(ValueError):
    """The menu file is missing or wrong; the message says where."""


@dataclass(frozen=True)
class Click:
    name: str
    key: str
    intent: str


@dataclass(frozen=True)
class Group:
    name: str
    clicks: tuple[Click, ...]


Button = Click | Group


def _size(text: str) -> int:
    return len(text.encode("utf-8"))


def _name(raw: dict[str, Any], where: str, max_bytes: int) -> str:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise MenuError(f"{where}: 'name' must be a non-empty text")
    if _size(name.strip()) > max_bytes:
        raise MenuError(f"{where}: name {name!r} is longer than WeChat's {max_bytes} bytes")
    return name.strip()


def _click(raw: Any, where: str, max_name_bytes: int) -> Click:
    if not isinstance(raw, dict):
        raise MenuError(f"{where}: a button must be a mapping with name, key and intent")
    name = _name(raw, where, max_name_bytes)
    key, intent = raw.get("key"), raw.get("intent")
    if not isinstance(key, str) or not _KEY.fullmatch(key) or _size(key) > MAX_KEY_BYTES:
        raise MenuError(f"{where}: 'key' must be letters, digits, _ or - (at most {MAX_KEY_BYTES})")
    if not isinstance(intent, str) or not _INTENT.fullmatch(intent):
        raise MenuError(f"{where}: 'intent' must be a customer intent of domain.yml (lower case), got {intent!r}")
    return Click(name, key, intent)


def _button(raw: Any, where: str) -> Button:
    if isinstance(raw, dict) and "sub_buttons" in raw:
        subs = raw.get("sub_buttons")
        if not isinstance(subs, list) or not 1 <= len(subs) <= MAX_SUB_BUTTONS:
            raise MenuError(f"{where}: 'sub_buttons' must list 1 to {MAX_SUB_BUTTONS} buttons")
        return Group(_name(raw, where, MAX_NAME_BYTES),
                     tuple(_click(s, f"{where}.sub_buttons[{j}]", MAX_SUB_NAME_BYTES) for j, s in enumerate(subs)))
    return _click(raw, where, MAX_NAME_BYTES)


def clicks(buttons: Iterable[Button]) -> list[Click]:
    found: list[Click] = []
    for button in buttons:
        found.extend(button.clicks if isinstance(button, Group) else [button])
    return found


def parse_menu(document: Any, known_intents: Iterable[str] | None = None) -> tuple[Button, ...]:
    """The buttons of a menu document (parsed YAML); MenuError naming the first mistake."""
    if not isinstance(document, dict) or not isinstance(document.get("buttons"), list):
        raise MenuError("the file must have a top-level 'buttons:' list")
    raw = document["buttons"]
    if not 1 <= len(raw) <= MAX_BUTTONS:
        raise MenuError(f"'buttons' must list 1 to {MAX_BUTTONS} buttons (WeChat's limit), got {len(raw)}")
    buttons = tuple(_button(b, f"buttons[{i}]") for i, b in enumerate(raw))
    keys = [c.key for c in clicks(buttons)]
    twice = sorted({k for k in keys if keys.count(k) > 1})
    if twice:
        raise MenuError(f"each key must be used once: {', '.join(twice)}")
    if known_intents is not None:
        known = set(known_intents)
        unknown = sorted({c.intent for c in clicks(buttons) if c.intent not in known})
        if unknown:
            raise MenuError(f"intents not in domain.yml: {', '.join(unknown)}")
    return buttons


def load_menu(path: Path, known_intents: Iterable[str] | None = None) -> tuple[Button, ...]:
    try:
        document = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise MenuError(f"{path}: cannot read it ({exc.strerror or type(exc).__name__})") from exc
    except yaml.YAMLError as exc:
        raise MenuError(f"{path}: not valid YAML ({type(exc).__name__})") from exc
    try:
        return parse_menu(document, known_intents)
    except MenuError as exc:
        raise MenuError(f"{path}: {exc}") from exc


def menu_intents(path: Path) -> dict[str, str]:
    """Click key -> intent, for the channel's menu clicks (MenuError when the file is wrong)."""
    return {c.key: c.intent for c in clicks(load_menu(path))}


def menu_json(buttons: Iterable[Button]) -> dict[str, Any]:
    """The body of WeChat's cgi-bin/menu/create."""
    def click(c: Click) -> dict[str, Any]:
        return {"type": "click", "name": c.name, "key": c.key}

    return {"button": [
        {"name": b.name, "sub_button": [click(c) for c in b.clicks]} if isinstance(b, Group) else click(b)
        for b in buttons
    ]}


def domain_intents(domain: Path = PROJECT_ROOT / "domain.yml") -> list[str]:
    document = yaml.safe_load(domain.read_text(encoding="utf-8")) or {}
    return [i if isinstance(i, str) else next(iter(i)) for i in document.get("intents") or []]


async def _create(settings: Settings, menu: dict[str, Any], api: Any = None) -> None:
    from connectors.wechat_api import HttpWeChatApi
    from service.db import make_engine
    from service.migrate import upgrade

    if api is None:
        engine = make_engine(settings.database_url)
        upgrade(engine)
        api = HttpWeChatApi.from_settings(settings, engine=engine)
    try:
        await api.create_menu(menu)
    finally:
        close = getattr(api, "close", None)
        if close is not None:
            await close()


def main(argv: list[str] | None = None, settings: Settings | None = None, api: Any = None) -> int:
    from connectors.wechat_api import WeChatApiError

    parser = argparse.ArgumentParser(prog="python -m connectors.wechat_menu",
                                     description="set the WeChat Official Account's menu from a YAML file")
    parser.add_argument("--file", type=Path, default=None, help="the menu file (default: WECHAT_MENU or wechat_menu.yml)")
    parser.add_argument("--dry-run", action="store_true", help="print the JSON WeChat would get; call nothing")
    args = parser.parse_args(argv)
    try:
        settings = settings or get_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        menu = menu_json(load_menu(args.file or settings.wechat_menu, domain_intents()))
    except MenuError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.dry_run:
        print(json.dumps(menu, ensure_ascii=False, indent=2))
        return 0
    if not settings.wechat_app_id or not settings.wechat_app_secret:
        print("error: WECHAT_APP_ID and WECHAT_APP_SECRET must be set to set the menu (or use --dry-run)", file=sys.stderr)
        return 2
    try:
        asyncio.run(_create(settings, menu, api))
    except WeChatApiError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"menu set: {len(menu['button'])} buttons")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
