"""What every launcher does first: mask personal data in all logs, and take only secrets that are secret."""

from __future__ import annotations

from service.secrets import check_secrets, stored_secret
from service.settings import Settings


def install_scrubbing() -> None:
    """service.logs.install_log_scrubbing() (phones and ID numbers masked in every log record), once it exists."""
    import service.logs

    install = getattr(service.logs, "install_log_scrubbing", None)
    if install is not None:
        install()


def checked_secrets(settings: Settings, *names: str) -> dict[str, str]:
    """The secrets `names` (from the environment, else generated under var/ in embedded mode), after
    service.secrets.check_secrets; SettingsError when it refuses (published in the repository, or unset in scaled mode).
    """
    check_secrets(settings)
    return {name: stored_secret(settings, name) for name in names}
