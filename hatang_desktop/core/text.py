"""Text matching the way Vietnamese users type: with or without diacritics, any case."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})


def fold(text: str) -> str:
    """A search key: no diacritics, đ→d, casefolded, single spaces ("Đồng Đăng" → "dong dang")."""
    text = unicodedata.normalize("NFD", text.translate(_APOSTROPHES)).casefold()
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("đ", "d")
    text = re.sub(r"\s*-\s*", " - ", text)
    return re.sub(r"\s+", " ", text).strip()


_UNIT_PREFIXES = ("thanh pho", "tinh", "xa", "phuong", "dac khu", "thi tran", "tp.", "tp")


def fold_place(name: str) -> str:
    """fold() without the unit-type prefix, so "Tỉnh Lạng Sơn", "lang son" and "TP. Huế" match."""
    key = fold(name)
    for prefix in _UNIT_PREFIXES:
        if key.startswith(prefix + " "):
            return key[len(prefix) + 1:].strip()
    return key
