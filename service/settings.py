"""Configuration, read once from the environment into a frozen object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIN_SECRET_LENGTH = 32  # HS256 wants a key of at least 256 bits
DEFAULT_DEMO_PASSWORD = "xiaozhi-demo"
EMBEDDED = "embedded"
SCALED = "scaled"
MODES = (EMBEDDED, SCALED)


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


def _fraction(env: Mapping[str, str], name: str, default: float) -> float:
    """A number from 0 to 1 (a confidence)."""
    value = _float(env, name, default)
    if not 0 <= value <= 1:  # also NaN
        raise SettingsError(f"{name} must be between 0 and 1, got {env.get(name)!r}")
    return value


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


def _int(env: Mapping[str, str], name: str, default: int, low: int = 1) -> int:
    raw = env.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be a whole number, got {raw!r}") from exc
    if value < low:
        raise SettingsError(f"{name} must be at least {low}, got {raw!r}")
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


def _optional(env: Mapping[str, str], name: str, length: int | None = None) -> str | None:
    """A credential issued by someone else (WeChat's token and keys): any non-empty value, or exactly `length` chars."""
    raw = (env.get(name) or "").strip() or None
    if raw is not None and length is not None and len(raw) != length:
        raise SettingsError(f"{name} must be exactly {length} characters long")
    return raw


def _keys(env: Mapping[str, str], name: str) -> str | None:
    """One or more secrets, comma-separated (the first is used for new data, all are tried for old)."""
    raw = env.get(name) or None
    if raw is None:
        return None
    if any(len(part.strip()) < MIN_SECRET_LENGTH for part in raw.split(",")):
        raise SettingsError(f"{name} must be one or more comma-separated keys of at least {MIN_SECRET_LENGTH} characters")
    return raw


def _flag(env: Mapping[str, str], name: str) -> bool:
    """1/true/yes/on or 0/false/no/off (empty: off)."""
    raw = (env.get(name) or "").strip().lower()
    if raw not in ("", "0", "false", "no", "off", "1", "true", "yes", "on"):
        raise SettingsError(f"{name} must be 1 or 0, got {env.get(name)!r}")
    return raw in ("1", "true", "yes", "on")


def _mode(env: Mapping[str, str]) -> str:
    """XIAOZHI_MODE; when unset, a shared database or Redis means the scaled mode (its stricter checks apply)."""
    raw = (env.get("XIAOZHI_MODE") or "").strip().lower()
    if raw:
        if raw not in MODES:
            raise SettingsError(f"XIAOZHI_MODE must be one of {', '.join(MODES)}, got {raw!r}")
        return raw
    database = env.get("DATABASE_URL") or ""
    shared_database = bool(database) and not database.startswith("sqlite")
    return SCALED if env.get("REDIS_URL") or shared_database else EMBEDDED


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
    mode: str = EMBEDDED
    identity_secret: str | None = field(default=None, repr=False)
    identity_max_ttl_s: int = 24 * 3600
    log_level: str = "INFO"
    desk_secret: str | None = field(default=None, repr=False)
    desk_demo_password: str = field(default=DEFAULT_DEMO_PASSWORD, repr=False)
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_jwt_secret: str | None = field(default=None, repr=False)
    action_server_token: str | None = field(default=None, repr=False)
    tracker_encryption_key: str | None = field(default=None, repr=False)
    # Rasa's SQL tracker store, read by the desk's reports and review (endpoints.yml writes var/tracker.db)
    tracker_db_url: str = field(default="", repr=False)
    desk_url: str = "http://127.0.0.1:5006"
    redis_url: str | None = field(default=None, repr=False)
    queue_prefix: str = "xiaozhi"
    handoff_config: Path = PROJECT_ROOT / "handoff.yml"
    widget_origins: tuple[str, ...] = ("http://127.0.0.1:5006", "http://localhost:5006")
    channel_rate_per_minute: int = 20
    # WeChat Official Account (connectors/wechat.py): off while wechat_token is unset
    wechat_token: str | None = field(default=None, repr=False)
    wechat_app_id: str = ""
    wechat_app_secret: str | None = field(default=None, repr=False)
    wechat_aes_key: str | None = field(default=None, repr=False)  # set: safe (encrypted) mode
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_menu: Path = PROJECT_ROOT / "wechat_menu.yml"
    # The mobile app (connectors/app.py): HS256 tokens signed by the shop's backend; off while unset
    app_token_secret: str | None = field(default=None, repr=False)
    # Conversation review (service/review): a customer message read with less confidence goes to the training inbox
    review_confidence_threshold: float = 0.6
    # The event broker's queue (deploy/endpoints.scaled.yml) and its consumer feeding the reporting table
    # (connectors/event_consumer.py); in scaled mode the reports read that table when reports_from_events is on
    rabbitmq_host: str = "127.0.0.1"  # a host name or an amqp:// URL, as Rasa's pika broker takes it
    rabbitmq_user: str = "guest"
    rabbitmq_password: str = field(default="guest", repr=False)
    rabbitmq_queue: str = "xiaozhi_events"
    event_consumer_prefetch: int = 200
    reports_from_events: bool = False
    # Rasa's call to the action server (connectors/action_failure.py): past this, the customer gets an apology
    action_call_timeout_s: float = 10.0

    @property
    def scaled(self) -> bool:
        return self.mode == SCALED

    @property
    def sms_outbox(self) -> Path:
        """Where the embedded SMS stub writes the messages it would have sent (read by demos and tests)."""
        return self.var_dir / "sms_outbox.jsonl"

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
        mode=_mode(env),
        identity_secret=_secret(env, "IDENTITY_SECRET"),
        identity_max_ttl_s=_int(env, "IDENTITY_MAX_TTL_S", 24 * 3600),
        log_level=env.get("LOG_LEVEL", "INFO").upper(),
        desk_secret=_secret(env, "DESK_SECRET"),
        desk_demo_password=env.get("DESK_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD,
        rasa_url=_http_url(env, "RASA_URL", "http://127.0.0.1:5005"),
        rasa_jwt_secret=_secret(env, "RASA_JWT_SECRET"),
        action_server_token=_secret(env, "ACTION_SERVER_TOKEN"),
        tracker_encryption_key=_keys(env, "TRACKER_ENCRYPTION_KEY"),
        # where Rasa keeps conversations: embedded, var/tracker.db (endpoints.yml); scaled, DATABASE_URL
        # (deploy/endpoints.scaled.yml), unless TRACKER_DB_URL names another database
        tracker_db_url=env.get("TRACKER_DB_URL") or (
            env.get("DATABASE_URL", "") if _mode(env) == "scaled" else "") or f"sqlite:///{var_dir / 'tracker.db'}",
        desk_url=_http_url(env, "DESK_URL", "http://127.0.0.1:5006"),
        redis_url=env.get("REDIS_URL") or None,
        queue_prefix=env.get("QUEUE_PREFIX") or "xiaozhi",
        handoff_config=Path(env.get("HANDOFF_CONFIG") or PROJECT_ROOT / "handoff.yml"),
        widget_origins=tuple(o.strip().rstrip("/") for o in (env.get("WIDGET_ORIGINS") or
                             "http://127.0.0.1:5006,http://localhost:5006").split(",") if o.strip()),
        channel_rate_per_minute=_int(env, "CHANNEL_RATE_PER_MINUTE", 20),
        wechat_token=_optional(env, "WECHAT_TOKEN"),
        wechat_app_id=(env.get("WECHAT_APP_ID") or "").strip(),
        wechat_app_secret=_optional(env, "WECHAT_APP_SECRET"),
        wechat_aes_key=_optional(env, "WECHAT_AES_KEY", 43),
        wechat_api_base=_http_url(env, "WECHAT_API_BASE", "https://api.weixin.qq.com"),
        wechat_menu=Path(env.get("WECHAT_MENU") or PROJECT_ROOT / "wechat_menu.yml"),
        app_token_secret=_secret(env, "APP_TOKEN_SECRET"),
        review_confidence_threshold=_fraction(env, "REVIEW_CONFIDENCE_THRESHOLD", 0.6),
        rabbitmq_host=(env.get("RABBITMQ_HOST") or "127.0.0.1").strip(),
        rabbitmq_user=env.get("RABBITMQ_USER") or "guest",
        rabbitmq_password=env.get("RABBITMQ_PASSWORD") or "guest",
        rabbitmq_queue=(env.get("RABBITMQ_QUEUE") or "xiaozhi_events").strip(),
        event_consumer_prefetch=_int(env, "EVENT_CONSUMER_PREFETCH", 200),
        reports_from_events=_flag(env, "REPORTS_FROM_EVENTS"),
        action_call_timeout_s=_float(env, "ACTION_CALL_TIMEOUT_S", 10.0) or 10.0,
    )


def desk_signing_key(settings: Settings) -> str:
    """DESK_SECRET, else (embedded mode) a key generated once into <var_dir>/desk_secret."""
    from service.secrets import stored_secret

    return stored_secret(settings, "DESK_SECRET")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use."""
    return load_settings()
