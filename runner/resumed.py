"""Coroutines stepped by hand: what costs a task or a future only where the coroutine suspends. A
coroutine that does not suspend (a module the environment holds) finishes in its first step; one that
does is handed to the caller's task to drive from there (`resumed`)."""

from __future__ import annotations

import types
from collections.abc import Coroutine, Generator
from typing import Any, TypeVar, cast

T = TypeVar("T")


@types.coroutine
def resumed(coroutine: Coroutine[Any, Any, T], waiting_on: Any) -> Generator[Any, Any, T]:
    """The rest of a coroutine that suspended on `waiting_on` when first stepped by hand: the event
    loop's task then drives it as if it had run the coroutine from the start (what it awaits, and
    cancellation, pass through)."""
    while True:
        try:
            sent = yield waiting_on
        except BaseException as error:  # noqa: BLE001 - thrown in by the task (cancellation): passed on
            try:
                waiting_on = coroutine.throw(error)
            except StopIteration as done:
                return cast(T, done.value)
        else:
            try:
                waiting_on = coroutine.send(sent)
            except StopIteration as done:
                return cast(T, done.value)
