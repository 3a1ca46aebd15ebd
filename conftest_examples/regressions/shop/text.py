"""Text helpers."""


def normalize_sku(raw: str) -> str:
    return raw.strip().upper()
