from shop.catalog import index_by_sku, unique_skus


def test_unique_skus_of_a_feed() -> None:
    # a supplier feed of 60 lines naming 50 distinct SKUs, spelled loosely
    feed = [f" sk-{n:03d} " if n % 2 else f"SK-{n:03d}" for n in range(50)]
    feed += [f"sk-{n:03d}" for n in range(0, 50, 5)]
    result = unique_skus(feed)
    assert len(result) == 50
    assert result[:3] == ["SK-000", "SK-001", "SK-002"]


def test_index_by_sku() -> None:
    rows = [{"sku": " ab-1", "name": "Anvil"}, {"sku": "HM-2 ", "name": "Hammer"}]
    assert sorted(index_by_sku(rows)) == ["AB-1", "HM-2"]
