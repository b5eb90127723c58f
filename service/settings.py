"""Configuration, read once from the environment into a frozen object."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_SECRET_LENGTH = 32  # HS256 wants a key of at least 256 bits
DEFAULT_DEMO_PASSWORD = "xiaozhi-demo"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from exc
    if value < 0:
        raise SettingsError(f"{name} must not be negative, got {raw!r}")
    return value


def _date(env: Mapping[str, str], name: str) -> date | None:
    raw = env.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a date like 2026-11-21, got {raw!r}") from exc


def _http_url(env: Mapping[str, str], name: str, default: str) -> str:
    raw = (env.get(name) or default).strip().rstrip("/")
    if not raw.startswith(("http://", "https://")):
        raise SettingsError(f"{name} must be an http:// or https:// URL, got {raw!r}")
    return raw


def _secret(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name) or None
    if raw is not None and len(raw) < MIN_SECRET_LENGTH:
        raise SettingsError(f"{name} must be at least {MIN_SECRET_LENGTH} characters long")
    return raw


@dataclass(frozen=True)
class Settings:
    """Every knob of the service layer; secrets are kept out of repr."""

    var_dir: Path
    stub_backend_url: str
    database_url: str
    backend_timeout_s: float
    stub_latency_ms: float
    stub_failing: frozenset[str]
    business_date: date | None
    ticketing_config: Path = PROJECT_ROOT / "ticketing.yml"
    identity_secret: str | None = field(default=None, repr=False)
    log_level: str = "INFO"
    desk_secret: str | None = field(default=None, repr=False)
    desk_demo_password: str = field(default=DEFAULT_DEMO_PASSWORD, repr=False)
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_token: str | None = field(default=None, repr=False)
    desk_url: str = "http://127.0.0.1:5006"
    redis_url: str | None = field(default=None, repr=False)
    queue_prefix: str = "xiaozhi"
    handoff_config: Path = PROJECT_ROOT / "handoff.yml"
    widget_origins: tuple[str, ...] = ("http://127.0.0.1:5006", "http://localhost:5006")

    def __repr__(self) -> str:
        shown = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr
        )
        hidden = ", ".join(
            f"{f.name}={'***' if getattr(self, f.name) else None!r}" for f in fields(self) if not f.repr
        )
        return f"Settings({shown}, {hidden})"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from `env` (the process environment by default)."""
    env = os.environ if env is None else env
    var_dir = Path(env.get("XIAOZHI_VAR_DIR") or PROJECT_ROOT / "var")
    failing = {
        part.strip() for part in env.get("STUB_FAILING", "").split(",") if part.strip()
    }
    return Settings(
        var_dir=var_dir,
        stub_backend_url=env.get("STUB_BACKEND_URL")
        or f"sqlite:///{var_dir / 'stub_backends.db'}",
        database_url=env.get("DATABASE_URL") or f"sqlite:///{var_dir / 'xiaozhi.db'}",
        backend_timeout_s=_float(env, "BACKEND_TIMEOUT_S", 2.0),
        stub_latency_ms=_float(env, "STUB_LATENCY_MS", 0.0),
        stub_failing=frozenset(failing),
        business_date=_date(env, "XIAOZHI_TODAY"),
        ticketing_config=Path(env.get("TICKETING_CONFIG") or PROJECT_ROOT / "ticketing.yml"),
        identity_secret=env.get("IDENTITY_SECRET") or None,
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        desk_secret=_secret(env, "DESK_SECRET"),
        desk_demo_password=env.get("DESK_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD,
        rasa_url=_http_url(env, "RASA_URL", "http://127.0.0.1:5005"),
        rasa_token=env.get("RASA_TOKEN") or None,
        desk_url=_http_url(env, "DESK_URL", "http://127.0.0.1:5006"),
        redis_url=env.get("REDIS_URL") or None,
        queue_prefix=env.get("QUEUE_PREFIX") or "xiaozhi",
        handoff_config=Path(env.get("HANDOFF_CONFIG") or PROJECT_ROOT / "handoff.yml"),
        widget_origins=tuple(o.strip().rstrip("/") for o in (env.get("WIDGET_ORIGINS") or
                             "http://127.0.0.1:5006,http://localhost:5006").split(",") if o.strip()),
    )


def desk_signing_key(settings: Settings) -> str:
    """DESK_SECRET, else a key generated once into <var_dir>/desk_secret (mode 0600) that every local process shares."""
    if settings.desk_secret:
        return settings.desk_secret
    path = settings.var_dir / "desk_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".desk_secret.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(secrets.token_urlsafe(48))
        try:
            os.link(draft, path)  # atomic: a second process starting at once keeps the first key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_SECRET_LENGTH:
        raise SettingsError(f"DESK_SECRET is unset and {path} holds no usable key: delete the file or set DESK_SECRET")
    return key


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return load_settings()
