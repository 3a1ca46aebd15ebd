"""Event handlers, registered per event name."""

from typing import Callable, Dict, List

Callback = Callable[[dict], None]


class Handler:
    def __init__(self, event: str, callback: Callback) -> None:
        self.event = event
        self.callback = callback


_HANDLERS: List[Handler] = []


def subscribe(event: str, callback: Callback) -> Handler:
    handler = Handler(event, callback)
    _HANDLERS.append(handler)
    return handler


def unsubscribe(handler: Handler) -> None:
    _HANDLERS.remove(handler)


def publish(event: str, payload: dict) -> int:
    delivered = 0
    for handler in list(_HANDLERS):
        if handler.event == event:
            handler.callback(payload)
            delivered += 1
    return delivered


def clear() -> None:
    _HANDLERS.clear()
