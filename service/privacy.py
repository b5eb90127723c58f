"""Masking of personal data in replies, transcripts and logs."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

_PHONE = re.compile(r"(?<!\d)(1[3-9]\d)(\d{4})(\d{4})(?!\d)")
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[\dXx])(?![0-9A-Za-z])")
_EMAIL = re.compile(r"([A-Za-z0-9._%+-]{1,2})[A-Za-z0-9._%+-]*(@[A-Za-z0-9.-]+\.[A-Za-z]{2,})")
# An address is kept down to its district (区/县/市), the rest is masked.
_ADDRESS = re.compile(
    r"((?:[^\s，。,]{2,7}?(?:省|自治区))?(?:[^\s，。,]{2,7}?市)?(?:[^\s，。,]{1,7}?(?:区|县|旗)))"
    r"([^\s，。,]*?(?:路|街|道|巷|弄|号|村|镇|乡|小区|大厦|公寓|栋|楼|室|单元)[^\s，。,]*)"
)


def mask_phone(phone: str) -> str:
    """138****8000 for a mainland mobile number; other strings keep only their ends."""
    digits = phone.strip()
    match = _PHONE.fullmatch(digits)
    if match:
        return f"{match.group(1)}****{match.group(3)}"
    if len(digits) <= 4:
        return "*" * len(digits)
    return digits[:2] + "*" * (len(digits) - 4) + digits[-2:]


def mask_name(name: str) -> str:
    """张* / 欧阳** : the family name stays, the given name is masked."""
    name = name.strip()
    if len(name) <= 1:
        return name
    family = 2 if len(name) >= 4 else 1
    return name[:family] + "*" * (len(name) - family)


def mask_email(email: str) -> str:
    return _EMAIL.sub(lambda m: f"{m.group(1)}****{m.group(2)}", email)


def mask_address(address: str) -> str:
    """浙江省杭州市西湖区**** : the street, building and room are masked."""
    address = address.strip()
    match = _ADDRESS.search(address)
    if match:
        return address[: match.start(2)] + "****"
    keep = min(6, max(0, len(address) - 4))
    return address[:keep] + "****"


def scrub(text: str) -> str:
    """Mask phone numbers, ID numbers, e-mails and street addresses inside free text."""
    text = _ID_NUMBER.sub(lambda m: f"{m.group(1)}********{m.group(3)[-1]}", text)
    text = _PHONE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    text = _EMAIL.sub(lambda m: f"{m.group(1)}****{m.group(2)}", text)
    return _ADDRESS.sub(lambda m: f"{m.group(1)}****", text)


# --- identifiers wherever text is rendered for machines (log lines, event broker messages) ----------------
# There the character before a number may be an escape ending in a digit or a letter (号 is \u53f7 in
# JSON with ensure_ascii, \xb7 in the repr of its bytes, %B7 in a URL, a line break \n): an escape counts
# as a boundary. The patterns match the digits only (quick to skip text with none); what stands before a
# match is checked afterwards, on the few matches there are (a Rasa DEBUG line is a few kB).
_D = "[0-9\uff10-\uff19]"  # ASCII or full-width digits (１３８…, as Chinese input methods may type them)
_ALNUM = "[0-9A-Za-z\uff10-\uff19]"
_SOME_DIGITS = re.compile(f"{_D}{{3}}")  # no run of 3 digits: neither a phone nor an ID number
# A mainland mobile number, also spaced or dashed (138 0013 8000), after +86 / 0086 / 86 (which stay).
_ANY_PHONE = re.compile(rf"(?P<head>[1\uff11][3-9\uff13-\uff19]{_D})(?P<sep1>[- ]?){_D}{{4}}(?P<sep2>[- ]?)"
                        rf"(?P<tail>{_D}{{4}})(?!{_D})")
# An 18-character resident identity card number (the last one may be X).
_ANY_ID_NUMBER = re.compile(rf"(?P<region>{_D}{{6}}){_D}{{11}}(?P<check>[0-9Xx\uff10-\uff19\uff38])(?!{_ALNUM})")
_ESCAPE_BEFORE = re.compile(r"(?:\\x[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|%[0-9A-Fa-f]{2}|\\[nrtbf])\Z")
_PHONE_PREFIX_BEFORE = re.compile(r"86[- ]?\Z")


def _starts_a_number(text: str, start: int, not_before: re.Pattern[str]) -> bool:
    if start == 0 or not not_before.match(text, start - 1):
        return True
    return bool(_ESCAPE_BEFORE.search(text[max(0, start - 6):start]))


_DIGIT = re.compile(_D)
_ALNUM_CHAR = re.compile(_ALNUM)


def _mask_phones(text: str) -> str:
    def masked(match: re.Match[str]) -> str:
        start = match.start()
        if not (_starts_a_number(text, start, _DIGIT) or _PHONE_PREFIX_BEFORE.search(text[max(0, start - 3):start])):
            return match[0]
        return f"{match['head']}{match['sep1']}****{match['sep2']}{match['tail']}"

    return _ANY_PHONE.sub(masked, text)


def _mask_id_numbers(text: str) -> str:
    def masked(match: re.Match[str]) -> str:
        if not _starts_a_number(text, match.start(), _ALNUM_CHAR):
            return match[0]
        return f"{match['region']}********{match['check']}"

    return _ANY_ID_NUMBER.sub(masked, text)


def scrub_identifiers(text: str) -> str:
    """Mask full mobile numbers (138****8000) and ID card numbers (330106********4), also inside escaped text.

    Cheaper than `scrub` and safe on any machine text (it leaves addresses and e-mails alone): what log
    records go through.
    """
    if not _SOME_DIGITS.search(text):
        return text
    return _mask_phones(_mask_id_numbers(text))


def scrub_all(text: str) -> str:
    """`scrub`, plus the phone and ID number forms only `scrub_identifiers` knows (+86, spaced, escaped)."""
    return scrub(scrub_identifiers(text))


def scrub_data(value: Any, scrubber: Callable[[str], str] = scrub_all, keep: frozenset[str] = frozenset()) -> Any:
    """A copy of a JSON-like value (dicts, lists, tuples, strings) with every string scrubbed; the input is untouched.

    Values under a key in `keep` are copied as they are (generated identifiers such as a uuid's hex, where
    11 digits in a row would otherwise now and then be taken for a phone number).
    """
    if isinstance(value, str):
        return scrubber(value)
    if isinstance(value, dict):
        return {key: item if key in keep else scrub_data(item, scrubber, keep) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(scrub_data(item, scrubber, keep) for item in value)
    return value


# Generated identifiers of Rasa's events (a uuid's hex): never customer text, and 11 digits in a row there
# would now and then be taken for a phone number.
EVENT_IDENTIFIERS = frozenset({"message_id"})


def scrub_event(event: Any) -> Any:
    """A Rasa event as an event broker sends it, with phones, ID numbers, e-mails and addresses masked in every string."""
    return scrub_data(event, keep=EVENT_IDENTIFIERS)


def conversation_ref(sender_id: str) -> str:
    """What staff see instead of a conversation's sender id: a stable pseudonym.

    The sender id (a socket.io session id, a REST sender) is the conversation's only key: whoever knows it
    can continue the conversation as its customer, with what they proved. Staff need to tell conversations
    apart, not to hold their keys.
    """
    if not sender_id:
        return ""
    return hashlib.sha256(f"xiaozhi conversation\x1f{sender_id}".encode()).hexdigest()[:12]
