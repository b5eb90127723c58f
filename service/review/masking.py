"""What a customer wrote, made fit to keep in the inbox and to export as training data.

Phone numbers, ID card numbers, e-mails and street addresses are masked (service/privacy.scrub_all), and every
name the customer is known by is replaced by 某某 (its given name too, when it is two characters or more). A name
nobody told the bot cannot be recognised here: the designer reviewing the item is the last check.
"""

from __future__ import annotations

from collections.abc import Iterable

from service.privacy import scrub_all

NAME_PLACEHOLDER = "某某"
MIN_NAME = 2  # a single character is too common to replace anywhere it appears


def name_forms(names: Iterable[str]) -> list[str]:
    """The strings to replace for these names, longest first: 欧阳娜娜 → 欧阳娜娜, 娜娜; 张伟 → 张伟."""
    forms: set[str] = set()
    for name in names:
        name = "".join(name.split())
        if len(name) < MIN_NAME:
            continue
        forms.add(name)
        family = 2 if len(name) >= 4 else 1
        given = name[family:]
        if len(given) >= MIN_NAME:
            forms.add(given)
    return sorted(forms, key=lambda form: (-len(form), form))


def mask_text(text: str, names: Iterable[str] = ()) -> str:
    """`text` with personal data masked and known names replaced; one line."""
    masked = scrub_all(" ".join(text.split()))
    for form in name_forms(names):
        masked = masked.replace(form, NAME_PLACEHOLDER)
    return masked
