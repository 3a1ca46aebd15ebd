from shop import events


def test_publish_reaches_subscribers_and_cleans_up() -> None:
    received = []
    handler = events.subscribe("shipped", received.append)
    assert events.publish("shipped", {"order": 1}) == 1
    events.unsubscribe(handler)
    assert received == [{"order": 1}]


def test_publish_reaches_subscribers() -> None:
    # Leaks: each run subscribes a new Handler and never unsubscribes it.
    received = []
    events.subscribe("shipped", received.append)
    assert events.publish("shipped", {"order": 2}) >= 1
