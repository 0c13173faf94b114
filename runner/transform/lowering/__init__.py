"""TypeScript (.ts, .mts, .cts, .tsx) and JSX (.jsx, .tsx) lowered to JavaScript with a source
map, before the runner-format transform: grammars.py (the parsers, by extension), typescript.py
(type erasure and import elision), constructs.py (enums, namespaces, parameter properties,
CommonJS forms), jsx.py (the JSX transforms), edit_list.py (their edits), lower.py (the pass)."""
