"""`data:` URL imports (`import x from "data:text/javascript,export default 1"`), as Node and Vite take them:
the module's source is the URL's own text, base64 or percent-encoded. Only JavaScript: a URL of another
type fails to load with the type named. A data: module has no directory, so a relative import in it
fails, as in Node; a package it imports is looked for from the root (Node refuses those too). The
module's id is the URL without its query and fragment, as Node and Vite read it, with `\\0` before it (no
file is behind it)."""

from __future__ import annotations

from typing import Any

from ..errors import LoadError
from ..plugin import Plugin

PREFIX = "data:"
_ID = "\0" + PREFIX
# data:[<type>][;<parameter>]*[;base64],<body>
_URL = r"data:([^,;]*)((?:;[^,;]*)*),(.*)"
_JAVASCRIPT = frozenset(("text/javascript", "application/javascript"))


class DataUrls(Plugin):
    name = "modrun:data-url"
    enforce = "pre"
    LOADS_ONLY_OWN_IDS = True  # `\0data:` ids (PluginContainer.files_load_as_read)

    def resolve_id(self, source: str, importer: str | None, environment: Any) -> str | None:
        if source.startswith(PREFIX):
            # its query and fragment are no part of the module, as Node and Vite read it (its URL's path)
            ends = [at for at in (source.find("?"), source.find("#")) if at >= 0]
            return _ID + source[len(PREFIX):min(ends, default=len(source))]
        if importer is not None and importer.startswith(_ID) and source.startswith(("./", "../")):
            raise LoadError(f"Cannot resolve '{source}' from a data: URL module: it has no directory to be "
                            "relative to (import a package or an absolute path)",
                            code="ERR_UNSUPPORTED_RESOLVE_REQUEST", importer=importer, id=source)
        return None

    def passes(self, source: str, importer: str | None) -> bool:
        """Does resolve_id answer None? (PluginContainer.passes_before)"""
        return not source.startswith(PREFIX) and (importer is None or not importer.startswith(_ID))

    def load(self, id: str, environment: Any) -> str | None:
        if not id.startswith(_ID):
            return None
        import base64  # (only a data: URL needs these: not every run's imports)
        import binascii
        import re
        import urllib.parse

        url = id[1:]
        match = re.fullmatch(_URL, url, re.DOTALL)
        if match is None:
            raise LoadError(f"'{_abridged(url)}' is not a data: URL (data:[<type>][;base64],<data>)", id=id)
        kind, parameters, body = match.groups()
        if kind.strip().lower() not in _JAVASCRIPT:
            raise LoadError(f"cannot import '{_abridged(url)}': a data: URL of type '{kind or 'text/plain'}' is not a "
                            "module (text/javascript is)", id=id)
        try:
            if "base64" in (p.strip().lower() for p in parameters.split(";")):
                return base64.b64decode(urllib.parse.unquote(body), validate=True).decode("utf-8")
            return urllib.parse.unquote(body, errors="strict")
        except (binascii.Error, UnicodeDecodeError) as error:
            what = "base64 of UTF-8 text" if "base64" in parameters else "UTF-8 text"
            raise LoadError(f"cannot import '{_abridged(url)}': its data is not {what} ({error})", id=id) from None


def _abridged(url: str) -> str:
    return url if len(url) <= 60 else url[:57] + "..."
