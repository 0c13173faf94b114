"""Host capabilities: what a runtime's profile may ask its environment to do outside the sandbox
(runner/js/profiles.py declares them; runner/rpc/protocol.py names them). Each is answered here, on
the host, never by a socket or a file the runtime could reach by itself."""

from typing import TYPE_CHECKING

from .bindings import Bindings
from .fetch import FetchHandler, FetchPolicy, FetchRequest, FetchResponse

if TYPE_CHECKING:
    from .subtle import SubtleCrypto

__all__ = ["Bindings", "FetchHandler", "FetchPolicy", "FetchRequest", "FetchResponse", "SubtleCrypto"]


def __getattr__(name: str) -> object:
    # `cryptography` takes tens of milliseconds to import: it loads when a runtime first uses crypto.subtle.
    if name == "SubtleCrypto":
        from .subtle import SubtleCrypto

        return SubtleCrypto
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
