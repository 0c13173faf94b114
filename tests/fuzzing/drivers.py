"""Running generated graphs: natively in one long-lived Node process, and through modrun in one
environment per evaluator. Both answer main.js's `result` (or `{"hang": true}`) as plain data."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from runner import JSError, ModrunError, Server

NODE = shutil.which("node")
NODE_DRIVER = Path(__file__).with_name("node_driver.mjs")
HANG_S = 5.0


class NodeRunner:
    """One `node` process importing graphs on request (a graph's modules live in its own directory, so
    nothing is shared between graphs)."""

    def __init__(self) -> None:
        assert NODE is not None
        self.process = subprocess.Popen([NODE, str(NODE_DRIVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, bufsize=1)

    def run(self, directory: Path) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(f"{directory}\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait(timeout=30)


class ModrunRunner:
    """An environment per evaluator over one root that holds every graph's directory."""

    def __init__(self, root: Path, evaluators: tuple[str, ...]) -> None:
        self.root = root
        self.server = Server(root=root, cache_dir=False, on_console=lambda level, text: None,
                             environments={name: {"evaluator": name} for name in evaluators})

    async def run(self, evaluator: str, directory: Path) -> Any:
        url = "/" + (directory / "main.js").relative_to(self.root).as_posix()
        environment = self.server.environments[evaluator]
        try:
            module = await environment.import_module(url)
        except JSError as error:
            if "never settles" in error.message:
                return {"hang": True}
            return {"driverError": error.stack}
        except ModrunError as error:
            return {"driverError": f"{error.kind}: {error.stack}"}
        return module.result

    async def close(self) -> None:
        await self.server.close()
