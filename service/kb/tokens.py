"""Tokens for BM25: the normalised text (understanding/normalize.py: half-width, simplified, sound-alike typos of
the shop's words corrected) cut by jieba in search mode with the shop's words (data/jieba/userdict.txt), without
punctuation and function words."""

from __future__ import annotations

import io
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jieba

    from understanding.normalize import Normalizer

# Function words and fillers customers add around a question; they match every document.
STOPWORDS = frozenset("""
的 了 吗 呢 吧 啊 呀 哦 哈 嘛 么 啦 哇 喔 噢 嗯 诶 哎 唉 额 呃 是 在 我 你 您 他 她 它 我们 你们 他们 这 那 这个 那个 这样
就 都 也 还 又 和 与 及 或 跟 把 被 给 让 对 从 到 于 为 以 个 一个 一下 下 请问 请 问 想 想问 问下 问一下 一 有 没 没有 不
能 可以 可不可以 能不能 会 要 需要 怎么 怎么办 怎么样 怎样 如何 什么 啥 多少 哪 哪里 哪个 为什么 为啥 咋 咋办 么样 吗亲 亲
亲亲 客服 小智 你好 您好 谢谢 麻烦 帮 帮我 一下子 现在 已经 刚 刚刚 然后 但是 可是 所以 因为 如果 的话 就是 还是 这边 那边 里 上
是不是 不是 是否 有没有 能否 还能 行不行 好不好 对不对 呀亲 啊亲 一般
""".split())
MAX_CACHED = 50_000  # passages whose tokens are remembered
# Written the same thing two ways: numbers of the policy's figures, and words customers swap.
_REWRITES = (("七天", "7天"), ("十五天", "15天"), ("十五日", "15天"), ("七日", "7天"), ("一年", "1年"), ("三年", "3年"),
             ("保价", "价保"), ("退钱", "退款"), ("到帐", "到账"), ("报修", "维修"))


class Tokenizer:
    """tokens(text) -> BM25 tokens; thread-safe, jieba's dictionary loaded on first use."""

    def __init__(self, userdict: Path | None = None, normalizer: Normalizer | None = None) -> None:
        self._userdict = userdict
        self._normalizer = normalizer
        self._jieba: jieba.Tokenizer | None = None
        self._cache: dict[str, list[str]] = {}
        self._lock = threading.Lock()

    def _cutter(self) -> jieba.Tokenizer:
        with self._lock:
            if self._jieba is None:
                import jieba  # here: its import (pkg_resources) costs the desk's start half a second

                jieba.setLogLevel(logging.WARNING)  # not "Building prefix dict…" on the desk's stderr
                cutter = jieba.Tokenizer()
                cutter.initialize()
                if self._userdict is not None and self._userdict.is_file():
                    cutter.load_userdict(io.StringIO(self._userdict.read_text(encoding="utf-8")))
                self._jieba = cutter
            return self._jieba

    def normalize(self, text: str) -> str:
        if self._normalizer is None:
            from understanding.normalize import Normalizer  # pypinyin: loaded when the index is first built

            self._normalizer = Normalizer()
        text = self._normalizer.normalize(text)
        for written, meant in _REWRITES:
            text = text.replace(written, meant)
        return text

    def tokens(self, text: str) -> list[str]:
        cutter = self._cutter()
        words = cutter.lcut_for_search(self.normalize(text))
        return [w for w in (w.strip() for w in words) if w and w not in STOPWORDS and any(c.isalnum() for c in w)]

    def passage_tokens(self, text: str) -> list[str]:
        """tokens() of an indexed passage, remembered: a rebuild (new past replies, another desk in the same
        process) cuts only the passages it has not seen."""
        with self._lock:
            cached = self._cache.get(text)
        if cached is None:
            cached = self.tokens(text)
            with self._lock:
                if len(self._cache) >= MAX_CACHED:
                    self._cache.clear()
                self._cache[text] = cached
        return cached
