"""The processes' secrets: where each comes from, the ones generated in embedded mode, and the start-up checks.

Embedded mode generates what is unset into `<var_dir>/<name>` (mode 0600), once, so every local process
shares it. Scaled mode runs on several machines, so every secret must come from the environment, and
IDENTITY_SECRET too (without it the channels would trust whatever a page claims). No process starts
with a secret that is written down anywhere in this repository (the samples in deploy/, the README, …).
"""

from __future__ import annotations

import os
import secrets as random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from service.settings import MIN_SECRET_LENGTH, PROJECT_ROOT, Settings, SettingsError


@dataclass(frozen=True)
class SecretSpec:
    env: str  # the environment variable
    attribute: str  # the Settings field
    filename: str  # where embedded mode keeps a generated one (under var_dir)


SPECS = {
    spec.env: spec
    for spec in (
        SecretSpec("DESK_SECRET", "desk_secret", "desk_secret"),
        SecretSpec("RASA_JWT_SECRET", "rasa_jwt_secret", "rasa_jwt_secret"),
        SecretSpec("ACTION_SERVER_TOKEN", "action_server_token", "action_server_token"),
        SecretSpec("TRACKER_ENCRYPTION_KEY", "tracker_encryption_key", "tracker_key"),
    )
}
# Set by the shop's backend, never generated: unset means "trust plain claims" (embedded demo only).
IDENTITY_SECRET = "IDENTITY_SECRET"
APP_TOKEN_SECRET = "APP_TOKEN_SECRET"  # likewise the shop's: the app channel is off without it
SCANNED_SUFFIXES = frozenset({".md", ".yml", ".yaml", ".sample", ".env", ".py", ".txt", ".conf", ".ini", ".toml",
                              ".json", ".js", ".html", ".cfg", ".sh"})
SKIPPED_DIRS = frozenset({".git", ".venv", "node_modules", "var", "models", "results", "__pycache__", ".mypy_cache",
                          ".ruff_cache", ".pytest_cache"})


def _generate(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{random.token_hex(4)}")
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(random.token_urlsafe(48))
    try:
        os.link(draft, path)  # atomic: a second process starting at once keeps the first one's secret
    except FileExistsError:
        pass
    finally:
        draft.unlink()


def stored_secret(settings: Settings, env: str) -> str:
    """The secret named `env`: from the environment, else (embedded mode only) generated once under var_dir."""
    spec = SPECS[env]
    given: str | None = getattr(settings, spec.attribute)
    if given:
        return given
    if settings.scaled:
        raise SettingsError(f"{env} must be set in scaled mode (every server must share it)")
    path = settings.var_dir / spec.filename
    if not path.exists():
        _generate(path)
    value = path.read_text(encoding="utf-8").strip()
    if len(value) < MIN_SECRET_LENGTH:
        raise SettingsError(f"{env} is unset and {path} holds no usable secret: delete the file or set {env}")
    return value


def _text_files(root: Path) -> Iterable[Path]:
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = [d for d in subdirectories if d not in SKIPPED_DIRS and not d.startswith(".venv")]
        for name in files:
            path = Path(directory) / name
            if path.suffix in SCANNED_SUFFIXES or name.endswith(".sample") or name == "Makefile":
                yield path


def published_in(value: str, root: Path = PROJECT_ROOT) -> Path | None:
    """The first file of the repository that contains `value` (so it is no secret), or None."""
    for path in _text_files(root):
        try:
            if value in path.read_text(encoding="utf-8", errors="ignore"):
                return path
        except OSError:
            continue
    return None


def check_secrets(settings: Settings, root: Path = PROJECT_ROOT) -> None:
    """Refuse to start with a secret the repository publishes, or (scaled mode) without the secrets it needs."""
    given = {spec.env: getattr(settings, spec.attribute) for spec in SPECS.values()}
    given[IDENTITY_SECRET] = settings.identity_secret
    if settings.scaled:
        missing = [name for name, value in given.items() if not value]
        if missing:
            raise SettingsError(f"scaled mode needs {', '.join(missing)} set in the environment")
    given[APP_TOKEN_SECRET] = settings.app_token_secret  # optional (the app channel is off without it), never published
    for name, value in given.items():
        for part in (value or "").split(","):
            found = published_in(part.strip(), root) if part.strip() else None
            if found is not None:
                raise SettingsError(f"{name} is written in {found.relative_to(root)}, so it is no secret: "
                                    f"generate one, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'")
