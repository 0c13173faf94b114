"""From ES module source to Vite's runner format, in layers (only compiled.py is imported here, to
choose the compiled modules or the .py files before any is loaded: a run whose transforms all come
from the cache never loads the parser):

- parser.py, repair.py: the tree-sitter tree of a module (patched where the grammar falls short);
- entries.py: what the module imports and exports;
- scope.py, walker.py, expressions.py, sieve.py: scope analysis, in one walk;
- early_errors.py: the module's early errors that the runner format would hide;
- edits.py, sourcemap.py: edits applied into code and a source map;
- ssr_transform.py, records.py: the runner-format transform and its results; script_transform.py:
  classic scripts;
- compiled.py: the hot modules compiled to C at install time (mypyc), else pure Python.
"""

from . import compiled as _compiled

_compiled.choose()
