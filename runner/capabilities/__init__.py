"""Host capabilities: what a runtime's profile may ask its environment to do outside the sandbox
(runner/js/profiles.py declares them; runner/rpc/protocol.py names them). Each is answered here, on
the host, never by a socket or a file the runtime could reach by itself. `subtle` (subtle.py) is
imported where it is first used (Environment): its `cryptography` takes tens of milliseconds; so is
`fetch` (fetch.py, the handler's types and the network client): environments hold only their
FetchPolicy until a runtime fetches."""

from .bindings import Bindings
from .fetch_policy import FetchPolicy

__all__ = ["Bindings", "FetchPolicy"]

