"""`fetch` for runtimes: denied by default, served by a Python handler, or sent to the network
for the origins an environment allows.

    Server(root, fetch=handler)                                 # every environment
    Server(root, environments={"edge": {"fetch": {"allow": ["https://api.example.com"],
                                                   "handler": handler}}})

What a fetch may do is the environment's FetchPolicy (fetch_policy.py); this file answers the calls.
A handler takes a FetchRequest and returns a FetchResponse (or a coroutine of one), or None to
pass the request on: to the network when its origin is allowed, else it is denied. A denial, a
network failure or a handler's exception reaches the JS caller as a TypeError naming the URL,
as a failed fetch does in every runtime. No socket is opened unless an allowed origin is asked.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ..errors import JSError
from ..rpc.payloads import FetchRequestPayload, FetchResponsePayload
from .fetch_policy import FetchPolicy, origin_of

NETWORK_TIMEOUT_S = 30.0


@dataclass(frozen=True)
class FetchRequest:
    url: str
    method: str = "GET"
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    redirect: str = "follow"

    def header(self, name: str) -> str | None:
        """The values of a header, joined as Headers.get joins them."""
        values = [v for k, v in self.headers if k == name.lower()]
        return ", ".join(values) if values else None


@dataclass(frozen=True)
class FetchResponse:
    status: int = 200
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = ()
    body: bytes | str = b""
    status_text: str = ""
    url: str = ""


FetchHandler = Callable[[FetchRequest], "FetchResponse | None | Awaitable[FetchResponse | None]"]


async def answer(policy: FetchPolicy, payload: FetchRequestPayload) -> FetchResponsePayload:
    """Answer a runtime's fetch as the policy says."""
    body = payload.get("body")
    request = FetchRequest(
        url=str(payload["url"]), method=str(payload.get("method") or "GET"),
        headers=[(str(k), str(v)) for k, v in payload.get("headers") or []],
        body=base64.b64decode(body) if body is not None else None,
        redirect=str(payload.get("redirect") or "follow"))
    if policy.handler is not None:
        try:
            given = policy.handler(request)
            if inspect.isawaitable(given):
                given = await given
        except Exception as error:  # the handler's failure is the fetch's failure, as JS sees it
            raise _failed(request.url, f"the host's fetch handler raised {type(error).__name__}: {error}") from None
        if given is not None:
            if not isinstance(given, FetchResponse):
                raise _failed(request.url, "the host's fetch handler returned "
                              f"{type(given).__name__}, not a FetchResponse or None")
            return _payload(given, request.url, redirected=False)
    if not policy.allows(request.url):
        scheme = urlsplit(request.url).scheme
        if scheme not in ("http", "https"):
            raise _failed(request.url, f"the URL scheme {scheme!r} is not supported")
        raise _failed(request.url, f"fetch is not allowed to {origin_of(request.url)} in this environment "
                      f"(allow it with {{'fetch': {{'allow': ['{origin_of(request.url)}']}}}} "
                      "or serve it with a fetch handler)")
    return await asyncio.to_thread(_network, policy, request)


def _network(policy: FetchPolicy, request: FetchRequest) -> FetchResponsePayload:
    import urllib.error  # with http.client and email: tens of milliseconds a run without fetch need not pay
    import urllib.request

    class Redirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                             newurl: str) -> Any:
            if request.redirect != "follow":
                return None  # the 3xx is the answer: 'manual' returns it, 'error' fails below
            if not policy.allows(newurl):
                raise _failed(request.url, f"it redirects to {newurl}, whose origin is not allowed")
            return super().redirect_request(req, fp, code, msg, headers, newurl)

    opener = urllib.request.build_opener(Redirects)
    outgoing = urllib.request.Request(request.url, data=request.body, method=request.method,
                                      headers=dict(request.headers))
    try:
        with opener.open(outgoing, timeout=NETWORK_TIMEOUT_S) as answer:
            status, reason, url, headers, body = (answer.status, answer.reason, answer.url,
                                                  answer.headers.items(), answer.read())
    except urllib.error.HTTPError as error:  # a 4xx/5xx (or an unfollowed 3xx) is a response too
        status, reason, url = error.code, error.reason, request.url
        headers, body = error.headers.items(), error.read()
    except JSError:
        raise
    except Exception as error:
        raise _failed(request.url, f"{type(error).__name__}: {error}") from None
    if 300 <= status < 400 and request.redirect == "error":
        raise _failed(request.url, f"it redirects (status {status}) and redirect is 'error'")
    response = FetchResponse(status=status, headers=[(k.lower(), v) for k, v in headers], body=body,
                             status_text=str(reason or ""), url=url)
    return _payload(response, request.url, redirected=url != request.url)


def _failed(url: str, why: str) -> JSError:
    return JSError(f"fetch failed: {url}: {why}", name="TypeError")


def _payload(response: FetchResponse, url: str, *, redirected: bool) -> FetchResponsePayload:
    headers = response.headers.items() if isinstance(response.headers, Mapping) else response.headers
    body = response.body.encode() if isinstance(response.body, str) else bytes(response.body)
    if not 200 <= response.status <= 599:
        raise _failed(url, f"the host answered status {response.status}, outside 200-599")
    return FetchResponsePayload(url=response.url or url, status=response.status, statusText=response.status_text,
                                headers=[[str(k).lower(), str(v)] for k, v in headers],
                                body=base64.b64encode(body).decode(), redirected=redirected)
