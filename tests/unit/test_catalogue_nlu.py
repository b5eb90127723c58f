"""The NLU's catalogue words: every product is in the lookups, and the spaCy pipeline finds
them however the processes load (Rasa loads spaCy before the jieba dictionary)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from service.backends.catalogue import CATALOGUE
from service.settings import PROJECT_ROOT


def lookup(name: str) -> set[str]:
    document = yaml.safe_load((PROJECT_ROOT / "data" / "lookups" / f"{name}.yml").read_text(encoding="utf-8"))
    return {line[2:].strip() for block in document["nlu"] for line in block["examples"].splitlines() if line.startswith("- ")}


def test_every_catalogue_product_and_brand_is_in_the_lookups() -> None:
    products, brands = lookup("product"), lookup("brand")
    for entry in CATALOGUE:
        assert entry.name in products, entry.name
        assert entry.name.replace(" ", "") in products, entry.name
        assert entry.brand in brands, entry.brand


def test_spacy_pipeline_finds_products_when_loaded_before_the_dictionary(tmp_path: Path) -> None:
    out = tmp_path / "spacy_zh"
    python = sys.executable
    subprocess.run([python, str(PROJECT_ROOT / "scripts" / "build_spacy_model.py"), "--out", str(out)],
                   check=True, capture_output=True)
    probe = f"""
import spacy
nlp = spacy.load({str(out)!r})
import jieba, logging
jieba.setLogLevel(logging.WARNING)
jieba.load_userdict({str(PROJECT_ROOT / "data" / "jieba" / "userdict.txt")!r})
for text in ["蓝牙耳机X1杭州有货吗", "空气炸锅AF5多少钱", "我上周买的耳机坏了", "顺丰到哪了 黑色XL"]:
    print("|".join(f"{{e.text}}/{{e.label_}}" for e in nlp(text).ents))
"""
    found = subprocess.run([python, "-c", probe], check=True, capture_output=True, text=True).stdout.split()
    assert found == ["蓝牙耳机X1/product|杭州/city", "空气炸锅AF5/product", "耳机/product", "顺丰/carrier|黑色/color|XL/size"]
