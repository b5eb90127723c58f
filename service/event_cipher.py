"""The tracker store's encryption at rest (Fernet), shared by the Rasa server's store and the desk's readers.

Rows of Rasa's `events` table hold a Fernet token in `data`; the first key of TRACKER_ENCRYPTION_KEY
encrypts, all of them decrypt; rows written before encryption (plain JSON) are passed through.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from service.settings import MIN_SECRET_LENGTH, SettingsError

KEY_SETTING = "TRACKER_ENCRYPTION_KEY"
ROTATION_HINT = "if the key was changed, list the new key first and the old one after it"
UNENCRYPTED_PREFIX = "{"  # rows written before encryption hold the event's JSON; a Fernet token starts "gAAAAA"


class TrackerDecryptionError(Exception):
    """Stored events that none of the configured keys decrypts (wrong key, or a tampered row)."""


def fernet_key(secret: str) -> bytes:
    """Any string of 32 characters or more, as a Fernet key: its SHA-256, base64 for Fernet."""
    return base64.urlsafe_b64encode(hashlib.sha256(secret.encode("utf-8")).digest())


class EventCipher:
    """Encrypts with the first key; decrypts with any of them, and passes rows written before encryption."""

    def __init__(self, keys: Sequence[str]) -> None:
        keys = [key.strip() for key in keys if key.strip()]
        if not keys or any(len(key) < MIN_SECRET_LENGTH for key in keys):
            raise SettingsError(f"{KEY_SETTING} must be one or more comma-separated keys of at least "
                                f"{MIN_SECRET_LENGTH} characters")
        self._fernet = MultiFernet([Fernet(fernet_key(key)) for key in keys])

    @classmethod
    def from_setting(cls, value: str) -> EventCipher:
        """From TRACKER_ENCRYPTION_KEY's form: "new-key,old-key"."""
        return cls(value.split(","))

    def encrypt(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        if stored.startswith(UNENCRYPTED_PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise TrackerDecryptionError(f"stored conversation events cannot be decrypted with {KEY_SETTING} "
                                         f"({ROTATION_HINT})") from exc
