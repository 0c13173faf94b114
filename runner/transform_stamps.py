"""Transforms found by their file's stamp: a module whose file is unchanged since an earlier process
transformed it finds its transform cache entry without the file being read, the plugins' transforms
run on it, or its code hashed.

The transform cache is keyed by a module's code after the plugins' transforms (transform_cache.py),
so a lookup costs the read, every transform hook and a hash. Where only modrun's own plugins take
part (their transforms of a .js, .mjs or .cjs file depend on nothing but its code, its id and the
environment's `define`) and they left the code as the file holds it, the file's stamp (modification
and change times, size, inode) stands for its contents: a row of the cache's `stamped` table maps
(the id, the format hint, `define`, the plugins' own sources) to the file's stamp, the entry's key and
the source's hash; a file changed since gets its row replaced, not another one. A file changed less
than file_identity.RACY_S before it was read gets no row, so an edit in the same tick of the
filesystem's clock as its stamp is never mistaken for the stamped contents. The source text, which
only the code frame of a failed import needs, is read then (import_sites.py).
"""

from __future__ import annotations

import hashlib
import os
from typing import TYPE_CHECKING, Any

from . import file_identity
from .plugins import DefinePlugin, JsonPlugin, ResolvePlugin
from .plugins.data_urls import DataUrls
from .plugins.env_module import EnvModule
from .plugins.fs_stamps import Stamp
from .plugins.module_types import ModuleTypesPlugin
from .plugins.typescript_jsx import TypeScriptJsxPlugin
from .transform_cache import TAG, tag_of

if TYPE_CHECKING:
    from .plugin_container import PluginContainer
    from .transform_cache import TransformCache

#: files that no built-in plugin but define transforms (TypeScript, JSX and JSON are others')
_PLAIN = (".js", ".mjs", ".cjs")
_BUILT_IN = (EnvModule, DataUrls, ModuleTypesPlugin, TypeScriptJsxPlugin, JsonPlugin, DefinePlugin, ResolvePlugin)


def _sources() -> list[str]:
    """What the built-in plugins' transforms depend on besides the code: their own sources."""
    here = os.path.dirname(os.path.abspath(__file__))
    return [*file_identity.python_files(os.path.join(here, "plugins")), os.path.join(here, "plugin_container.py")]


class TransformStamps:
    def __init__(self, container: PluginContainer, define: dict[str, str], cache: TransformCache) -> None:
        self._cache = cache
        self._salt: bytes | None = None
        self._tag = ""
        hooked = [plugin for plugin in container.plugins if hasattr(plugin, "load") or hasattr(plugin, "transform")]
        if cache.directory is not None and all(type(plugin) in _BUILT_IN for plugin in hooked):
            taken = file_identity.stamps(_sources())
            if taken is not None:  # sources just edited: no stamped lookups this run
                # salted as the cache's own keys are (the transform's sources, the parser)
                self._salt = cache.key("\0stamped", repr((taken, sorted(define.items())))).encode()
                self._tag = tag_of(self._salt)

    def key(self, id: str, file: str, hint: str, stat: Stamp) -> str | None:
        """The stamped row's key of a module read from `file` (one row per file, holding its latest
        stamp); None where the module cannot be found so (other plugins, another kind of file, no file)."""
        if self._salt is None or stat is None or not file.endswith(_PLAIN) or id != file:
            return None
        digest = hashlib.sha256(self._salt)
        digest.update(f"{id}\0{hint}".encode("utf-8", "surrogatepass"))
        return self._tag + digest.hexdigest()[TAG:]

    def find(self, key: str | None, stat: Stamp) -> tuple[dict[str, Any], str] | None:
        """The cache entry and the source hash a stamped row gives, if it is of this stat."""
        return None if key is None else self._cache.get_stamped(key, str(stat))

    def keep(self, key: str | None, stat: Stamp, began_ns: int, entry_key: str, source_hash: str) -> None:
        """Record that the file of this stat holds the code of `entry_key`, read at `began_ns`
        (time.time_ns()), if it had settled by then."""
        if key is None or stat is None or file_identity.racy(stat, began_ns):
            return
        self._cache.put_stamped(key, str(stat), entry_key, source_hash)
