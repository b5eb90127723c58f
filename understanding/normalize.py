"""What a customer typed, in the form the intent classifier compares: half-width, lower case, simplified
characters, sound-alike typos of the shop's key words corrected (物留 → 物流, 快第 → 快递, 发漂 → 发票).

Only the classifier sees the normalised text; the conversation keeps what the customer wrote."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from pypinyin import Style, pinyin

# Words customers misspell by sound: a two-character window that shares one character with such a word and
# whose other character can be read with the same syllable and tone is taken for it (快第 → 快递; 无流, wú
# not wù, stays).
KEY_WORDS = (
    "物流", "快递", "发票", "退款", "退货", "换货", "售后", "订单", "发货", "到货", "签收", "保价", "价保",
    "维修", "保修", "客服", "人工", "投诉", "运费", "包邮", "地址", "取消", "催促", "赔偿", "工单", "优惠",
)
_REPEATED = re.compile(r"([!?.,~。！？，～])\1+")


@lru_cache(maxsize=8192)
def _readings(char: str) -> frozenset[str]:
    """Every syllable with its tone a character can be read as (漂: piao1, piao3, piao4)."""
    return frozenset(pinyin(char, style=Style.TONE3, heteronym=True)[0])


class Normalizer:
    """normalize(text) -> the text the classifier reads; pure and cached per instance's word list."""

    def __init__(self, key_words: Iterable[str] = KEY_WORDS, simplified: bool = True) -> None:
        self._by_char: dict[tuple[int, str], list[str]] = {}  # (position, character) -> key words
        for word in key_words:
            if len(word) == 2:
                for position, char in enumerate(word):
                    self._by_char.setdefault((position, char), []).append(word)
        self._to_simplified = _simplifier() if simplified else None

    def normalize(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text).lower().strip()
        if self._to_simplified is not None:
            text = self._to_simplified(text)
        text = _REPEATED.sub(r"\1", text)
        return self.correct_sound_alikes(text)

    def correct_sound_alikes(self, text: str) -> str:
        chars = list(text)
        i = 0
        while i + 1 < len(chars):
            window = "".join(chars[i:i + 2])
            fixed = self._sound_alike(window)
            if fixed is not None:
                chars[i:i + 2] = list(fixed)
                i += 2
            else:
                i += 1
        return "".join(chars)

    def _sound_alike(self, window: str) -> str | None:
        if not all("\u4e00" <= c <= "\u9fff" for c in window):
            return None
        for kept in (0, 1):
            other = 1 - kept
            for word in self._by_char.get((kept, window[kept]), ()):
                if word != window and _readings(word[other]) & _readings(window[other]):
                    return word
        return None


def _simplifier():  # type: ignore[no-untyped-def]
    import opencc

    converter = opencc.OpenCC("t2s")
    return converter.convert
