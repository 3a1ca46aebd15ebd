import pytest

from shop import notify

CUSTOMERS = ["ada", "grace", "linus"]


@pytest.mark.asyncio
@pytest.mark.callflow(max_blocking_ms=100)
async def test_send_all() -> None:
    assert len(await notify.send_all(CUSTOMERS)) == 3


@pytest.mark.asyncio
@pytest.mark.callflow(max_blocking_ms=100)
async def test_send_all_with_audit() -> None:
    # Fails: audit() blocks the event loop for 150 ms in one task step.
    assert len(await notify.send_all_with_audit(CUSTOMERS)) == 3
