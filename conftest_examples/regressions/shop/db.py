"""A tiny in-memory database: tables of rows, one query function.  In a real
shop `query` is a round trip to the database server, which is why the number
of calls matters more than the time each takes here."""

from typing import Any, Dict, List

Row = Dict[str, Any]

TABLES: Dict[str, List[Row]] = {
    "customers": [{"id": i, "name": f"customer {i}"} for i in range(1, 9)],
    "orders": [
        {"id": 100 + n, "customer_id": 1 + n % 8, "amount": 10.0 + n} for n in range(40)
    ],
}


def _matches(row: Row, filters: Dict[str, Any]) -> bool:
    # a list value means "column IN (...)"
    for column, wanted in filters.items():
        value = row[column]
        if isinstance(wanted, list):
            if value not in wanted:
                return False
        elif value != wanted:
            return False
    return True


def query(table: str, **filters: Any) -> List[Row]:
    return [row for row in TABLES[table] if _matches(row, filters)]
