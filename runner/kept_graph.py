"""A root's graph as a graph fetch last answered it (runner/rpc/graph_fetch.py), kept for the next fresh
runner that asks for it, and checked for the whole graph at once.

A fresh runtime that imports a graph asks for all of it in one fetch. Fetched again, every module is
checked as `fetch_module` checks it (Environment.kept_answer): the same transform and format, no plugin
that may load it, its file's stamp unchanged since it was read and settled, and the stamps of what its
resolutions read: about 9 µs a module, most of it the same checks over and over, since the modules
of one directory share their package scope, and their resolutions the stamps of the same few
directories and package.json files. Kept, each check is made once: every module's file is stat'ed (a
changed file is never served stale), the package scope of each directory looked up, each stamp the
resolutions read compared; and the answers, the very objects the environment keeps for those modules
(the same transforms, resolved the same way), are sent again, in the order the walk found them.

Kept only where every module of the walk was answered so (none failed, none loaded by a plugin, every
file settled, every resolution checked by stamps: so not with HMR, nor for CommonJS); and used only
while the root's own answer is the one it was kept with. A check that fails, or cannot be made, sends
the request its usual way, which keeps the graph anew.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from .file_identity import stamp_of
from .transform_request import node_hint

if TYPE_CHECKING:
    from .environment import Environment, _Answer
    from .file_identity import Stamp
    from .module_graph import ModuleNode
    from .rpc.payloads import FetchedModule


class KeptGraph:
    __slots__ = ("root", "modules", "answers", "scopes", "checks")

    def __init__(self, root: FetchedModule, modules: list[tuple[ModuleNode, _Answer]],
                 scopes: list[tuple[ModuleNode, str]], checks: set[tuple[str, Stamp]]) -> None:
        self.root = root  # the root's answer the walk started from
        self.modules = modules  # each module's node and the environment's answer for it, in the walk's order
        self.answers = [answer.result for _, answer in modules]
        self.scopes = scopes  # a module of each directory whose format its package scope decides, and that format
        self.checks = checks  # what the answers' resolutions read (_Answer.checks), together

    @staticmethod
    def of(environment: Environment, root: FetchedModule, found: list[FetchedModule],
           shape: tuple[int, bool]) -> KeptGraph | None:
        """The graph a walk from `root` just `found`, where each of its answers is the environment's
        own, current (Environment.kept_answer); None where one is not."""
        node_at = environment.module_graph.url_to_module.get
        modules: list[tuple[ModuleNode, _Answer]] = []
        scopes: dict[str, tuple[ModuleNode, str]] = {}
        checks: set[tuple[str, Stamp]] = set()
        for answer in found:
            node = node_at(answer["url"])
            kept = environment._fetched.get(node.id) if node is not None else None
            if node is None or kept is None or kept.checks is None or \
                    environment.kept_answer(node, shape) is not answer:
                return None
            modules.append((node, kept))
            checks.update(kept.checks)
            if not node.id_hint:  # (kept_answer found its format: the id's part is known) its package's "type" decides
                scopes.setdefault(os.path.dirname(node.file or ""), (node, kept.module.hint))
        return KeptGraph(root, modules, list(scopes.values()), checks)

    def current(self, environment: Environment) -> bool:
        """Would a walk from the root find every module's answer as kept (Environment.kept_answer, for
        all of them at once)?"""
        if not environment.plugin_container.files_load_as_read:
            return False
        node_at = environment.module_graph.url_to_module.get
        kept = environment._fetched.get
        under_way = environment._transforms_in_flight
        for node, answer in self.modules:
            module = answer.module
            if kept(node.id) is not answer or node.transform_result is not module or node_at(node.url) is not node or \
                    node.id in under_way or node.file is None or stamp_of(node.file) != module.stamp:
                return False
        for node, hint in self.scopes:
            if node_hint(environment, node) != hint:
                return False
        of = environment.stamps.of
        return all(of(path) == stamp for path, stamp in self.checks)
