"""The rules of `modrun check`, as data: an id, a default severity and a message template whose
fields each finding fills in (`{profile}` always; the others as the rule's own table says)."""

from __future__ import annotations

from dataclasses import dataclass

from .findings import Severity


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    #: str.format template; fields: profile, and name / specifier / reason / hint as the rule uses them
    message: str
    #: reported only when the config switches it on
    optional: bool = False


RULES: dict[str, Rule] = {rule.id: rule for rule in (
    Rule("node-builtin-import", "error",
         "'{specifier}' is a Node.js built-in module, which the {profile} profile does not provide"),
    Rule("unresolved-import", "error", "'{specifier}' cannot be resolved: {reason}"),
    Rule("load-error", "error", "the module cannot be loaded: {reason}"),
    Rule("node-global", "error", "`{name}` is not a global of the {profile} profile{hint}"),
    Rule("guarded-node-global", "info",
         "`{name}` is used behind a `typeof {name}` guard; the {profile} profile does not provide it, "
         "so the guarded branch does not run there"),
    Rule("eval", "error", "`eval` generates code from a string, which edge runtimes refuse"),
    Rule("function-constructor", "error",
         "`{name}` generates code from a string, which edge runtimes refuse"),
    Rule("dynamic-import-expression", "warning",
         "import() of a computed specifier: the check cannot follow it, and what it loads is not checked"),
    Rule("dynamic-require", "warning",
         "require() of a computed specifier: the check cannot follow it, and what it loads is not checked"),
    Rule("webassembly", "error",
         "`WebAssembly` is not a global of the {profile} profile (edge platforms also refuse compiling "
         "WebAssembly from bytes at run time)"),
    Rule("commonjs-module", "warning",
         "a CommonJS module (require / module.exports), where the {profile} profile expects ES modules",
         optional=True),
    # Found by `modrun check --run` (run_phase.py), besides the rules above met at run time.
    Rule("run-error", "error", "uncaught at run time: {reason}"),
    Rule("run-unhandled-rejection", "error", "a promise rejected at run time and nothing handled it: {reason}"),
    Rule("run-limit", "error", "the run exceeded the {limit} limit: {reason}"),
    Rule("run-crash", "error", "the runtime crashed or its transport failed: {reason}"),
)}

#: browser globals that no edge profile provides, reported also when read as `globalThis.NAME`
#: (Node's own come with their hints from the edge profile's lockdown.js: globals.py)
BROWSER_GLOBALS = frozenset(("window", "document", "XMLHttpRequest", "localStorage", "sessionStorage",
                             "location", "history", "alert", "indexedDB", "Worker"))

#: the names of the global object itself, through which a global can be read as a property
GLOBAL_OBJECTS = frozenset(("globalThis", "self", "window", "global"))

#: what a CommonJS module's wrapper function provides (runner/js/module_runner/commonjs.js)
COMMONJS_WRAPPER = frozenset(("exports", "require", "module", "__filename", "__dirname"))
