"""Masking of personal data in replies, transcripts and logs."""

from __future__ import annotations

import re

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
