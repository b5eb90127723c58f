"""Answers about a product: stock per warehouse, price, specifications."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from service.backends.base import Backends
from service.models import Product, StockLevel


class Aspect(str, Enum):
    PRICE = "price"
    STOCK = "stock"
    SPECS = "specs"
    OVERVIEW = "overview"


_ASPECTS = (
    (Aspect.STOCK, re.compile(r"有货|有没有货|没货|库存|现货|缺货|还有吗|还有没有|补货|断货|卖完|几件")),
    (Aspect.PRICE, re.compile(r"多少钱|价格|价钱|几块|贵|便宜|优惠|打折|售价|啥价")),
    (Aspect.SPECS, re.compile(r"参数|规格|配置|续航|容量|尺寸|多大|功率|材质|面料|防水|颜色|尺码|重量|区别|能效|内存|屏幕|吸力")),
)


# What customers call a catalogue category ("衣服" for 服装); the category's own name counts too.
CATEGORY_WORDS: dict[str, tuple[str, ...]] = {
    "服装": ("衣服", "衣物", "服饰"),
    "鞋靴": ("鞋",),
    "数码": ("电子产品",),
    "小家电": ("家电", "电器"),
    "大家电": ("家电", "电器"),
    "家居": ("家纺",),
    "美妆": ("化妆品", "护肤品"),
    "食品": ("零食", "吃的"),
}


def categories_named(text: str) -> frozenset[str]:
    """The catalogue categories a customer's words name ("衣服" → 服装)."""
    folded = (text or "").replace(" ", "")
    return frozenset(category for category, words in CATEGORY_WORDS.items()
                     if folded and any(word in folded for word in (category, *words)))


def detect_aspect(text: str) -> Aspect:
    for aspect, pattern in _ASPECTS:
        if pattern.search(text or ""):
            return aspect
    return Aspect.OVERVIEW


@dataclass(frozen=True)
class ProductAnswer:
    product: Product
    aspect: Aspect
    stock: tuple[StockLevel, ...]

    @property
    def total_stock(self) -> int:
        return sum(level.quantity for level in self.stock)

    @property
    def stock_text(self) -> str:
        available = [f"{s.warehouse}{s.quantity}件" for s in self.stock if s.quantity > 0]
        return "、".join(available) if available else "暂时缺货"

    @property
    def specs_text(self) -> str:
        return "；".join(f"{key}：{value}" for key, value in self.product.specs.items())

    def stock_in(self, city: str) -> int | None:
        """Stock of the warehouse in `city` (杭州 → 杭州仓), None when there is none there."""
        name = city.rstrip("市省") + "仓"
        return next((s.quantity for s in self.stock if s.warehouse == name), None)


class ProductService:
    def __init__(self, backends: Backends) -> None:
        self._b = backends

    async def find(self, *texts: str) -> list[Product]:
        """Products named in the first text that names any."""
        for text in texts:
            if text:
                found = await self._b.products.search(text)
                if found:
                    return found
        return []

    async def answer(self, product: Product, question: str) -> ProductAnswer:
        stock = await self._b.products.stock(product.sku)
        return ProductAnswer(product, detect_aspect(question), tuple(stock))
