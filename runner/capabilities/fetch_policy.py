"""What an environment lets its runtimes' `fetch` do: a Python handler, the origins it may reach on the
network, or neither (every request denied). fetch.py answers the calls.

Every server and environment builds a policy, used or not, so this file stays light: the handler's
request and response types and the network client (fetch.py) load when a runtime first fetches.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from ..errors import UsageError

if TYPE_CHECKING:
    from ..rpc.payloads import FetchRequestPayload, FetchResponsePayload
    from .fetch import FetchHandler


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class FetchPolicy:
    """What an environment does with its runtimes' fetch calls."""

    def __init__(self, handler: FetchHandler | None = None, allow: Iterable[str] = ()) -> None:
        self.handler = handler
        self.allow = frozenset(origin.rstrip("/").lower() for origin in allow)
        for origin in self.allow:
            if origin != "*" and (urlsplit(origin).scheme not in ("http", "https") or not urlsplit(origin).netloc):
                raise UsageError(f"fetch: allowed origins are like 'https://example.com' (or '*'), not {origin!r}")

    @classmethod
    def from_config(cls, value: Any, what: str) -> FetchPolicy:
        if value is None or isinstance(value, FetchPolicy):
            return value or cls()
        if callable(value):
            return cls(handler=value)
        if isinstance(value, dict):
            unknown = sorted(set(value) - {"allow", "handler"})
            if unknown:
                raise UsageError(f"{what}: fetch: unknown option {', '.join(unknown)} (known: allow, handler)")
            allow = value.get("allow", ())
            if isinstance(allow, str) or not all(isinstance(item, str) for item in allow):
                raise UsageError(f"{what}: fetch.allow must be a list of origins")
            handler = value.get("handler")
            if handler is not None and not callable(handler):
                raise UsageError(f"{what}: fetch.handler must be callable")
            return cls(handler=handler, allow=allow)
        raise UsageError(f"{what}: fetch must be a handler or a mapping with 'allow' and 'handler'")

    def allows(self, url: str) -> bool:
        return "*" in self.allow or origin_of(url) in self.allow

    async def __call__(self, payload: FetchRequestPayload) -> FetchResponsePayload:
        from .fetch import answer

        return await answer(self, payload)
