"""Profiles as data: what a runtime exposes to the code it runs.

A profile is JavaScript under runner/js (bundled between the transport and the module runner, the
last file providing `installProfile`), with the built third-party libraries or not, plus the host
capabilities its runtimes may invoke on their
environment (names in runner/rpc/protocol.py's CAPABILITY_METHODS), plus the resolve conditions
packages are matched with. The same data drives all three evaluators: the bundle is built from
`files`, and an environment answers exactly the `capabilities` of its profile.
"""

from __future__ import annotations

from typing import NamedTuple

from ..errors import UsageError


class Profile(NamedTuple):  # not a dataclass: every process makes this class, and a dataclass costs a compile
    name: str
    summary: str
    #: runner/js files (paths relative to runner/js), in bundle order
    files: tuple[str, ...]
    #: host capabilities the runtime may invoke (runner/rpc/protocol.py CAPABILITY_METHODS)
    capabilities: tuple[str, ...] = ()
    #: package.json `exports` conditions added to the base ones (import, module, default, the mode)
    conditions: tuple[str, ...] = ()
    #: whether its runtimes get the built third-party libraries (libraries.py) as LIBRARIES
    libraries: bool = False


BARE = Profile("bare", "ECMAScript, console and queueMicrotask", ("console.js", "profile_bare.js"))

EDGE = Profile(
    "edge",
    "the WinterTC Minimum Common API (ECMA-429): Web-standard globals, fetch and crypto.subtle from the host",
    (
        "console.js",
        "edge/units.js",
        "edge/webidl.js",
        "edge/events.js",
        "edge/abort.js",
        "edge/blob.js",
        "edge/form_data.js",
        "edge/headers.js",
        "edge/body.js",
        "edge/request.js",
        "edge/response.js",
        "edge/fetch.js",
        "edge/dispatch.js",
        "edge/crypto.js",
        "edge/lockdown.js",
        "edge/global_events.js",
        "edge/profile.js",
    ),
    capabilities=("fetch", "subtle"),
    # What edge runtimes' bundlers match (Vercel: edge-light; Cloudflare: workerd; both: worker and
    # browser), so packages pick their Web-standard build rather than a Node one.
    conditions=("edge-light", "workerd", "worker", "browser"),
    libraries=True,
)

PROFILES: dict[str, Profile] = {profile.name: profile for profile in (BARE, EDGE)}
DEFAULT_PROFILE = "edge"


def get_profile(name: str) -> Profile:
    profile = PROFILES.get(name)
    if profile is None:
        raise UsageError(f"unknown profile {name!r}; available: {', '.join(PROFILES)}")
    return profile
