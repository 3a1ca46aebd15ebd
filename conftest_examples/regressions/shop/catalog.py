"""Catalog imports: SKUs from a supplier feed, deduplicated."""

from typing import Dict, Iterable, List

from .text import normalize_sku


def unique_skus(skus: Iterable[str]) -> List[str]:
    """The distinct SKUs of a feed, normalized, in first-seen order.

    REGRESSION (accidentally quadratic): every kept SKU is normalized again
    for every new one, so normalize_sku runs about N*N/2 times instead of N.
    The tests still pass; the baseline was recorded on the good version::

        seen = set()
        unique = []
        for sku in skus:
            key = normalize_sku(sku)
            if key not in seen:
                seen.add(key)
                unique.append(key)
        return unique
    """
    unique: List[str] = []
    for sku in skus:
        key = normalize_sku(sku)
        duplicate = False
        for kept in unique:
            if normalize_sku(kept) == key:
                duplicate = True
                break
        if not duplicate:
            unique.append(key)
    return unique


def index_by_sku(rows: Iterable[Dict[str, str]]) -> Dict[str, Dict[str, str]]:
    return {normalize_sku(row["sku"]): row for row in rows}
