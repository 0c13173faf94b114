// provides: defineLocalBindings, resolveBindings, moduleNamespace, linkOrder, defineGetter
// uses: createNamespace
// private: AMBIGUOUS, linkWalks, NO_EDGES, exportEntry, resolveExport, searchResolution, edgesOf, join, sameBinding, exportTable, defineTdzBinding, defineForwardingBinding, linkError

// Linking, as the spec does it, from the link metadata the server sends with each module (its
// import and export entries, under `modrun`): every import and re-export is resolved with
// ResolveExport before anything runs, so a missing or ambiguous name is a SyntaxError of the
// load. Code from a server without that metadata is linked as it runs (Vite's semantics).
//
// Every answer is kept on its record (`resolutions`, `table`), so linking costs time in proportion
// to the graph, however `export *` chains and barrels are shaped; and nothing here recurses,
// so re-export chains thousands of modules deep link on any stack.
//
// The metadata comes in the form runner/rpc/sent_module.py describes: an import is
// [specifier, key, names, line, column]; an export the module defines itself is "local" or "var" (a
// string), any other, a re-export, is [specifier, import] (import "*": the dependency's namespace).

const AMBIGUOUS = { ambiguous: true };
let linkWalks = 0; // linkOrder's walks so far
const NO_EDGES = [];

// defineGetter(object, name, get): an enumerable, configurable accessor, as defineProperty with
// { get, enumerable: true, configurable: true } defines it (Annex B's __defineGetter__), without a
// descriptor object to make and read: about half the cost in QuickJS, and every module defines
// one for each of its exports. Bound now, so that module code replacing either later changes nothing.
const defineGetter = Function.prototype.call.bind(Object.prototype.__defineGetter__);

// The module's own exports start in their temporal dead zone: reading one before its
// declaration has run throws, as it does for a binding of a module in the spec; a `var` is
// undefined instead, as the spec initializes it when the module is linked. Not needed for a module
// started as it is linked (a gated one: module_runner.js), whose prologue defines every export
// first, before any code can read one.
function defineLocalBindings(record) {
  if (!record.meta) return;
  const exports = record.meta.exports;
  for (const name of Object.keys(exports)) {
    const sent = exports[name];
    if (sent === "var") Object.defineProperty(record.exports, name, { value: undefined, writable: true, enumerable: true, configurable: true });
    else if (sent === "local") defineTdzBinding(record.exports, name);
  }
}

// Checks every import of the module and binds its explicit re-exports to the modules that define
// them. Names that come through `export *` are bound when the module's export table is built.
function resolveBindings(record) {
  const meta = record.meta;
  if (!meta) return;
  const imports = meta.imports;
  for (let i = 0; i < imports.length; i++) {
    const entry = imports[i];
    const names = entry[2];
    if (names.length === 0) continue;
    const dep = record.deps.get(entry[1]);
    // Names read through `export *` are read from the dependency's exports object: its table
    // puts them there (and answers each name at once, where a search would walk every star).
    const exports = dep && dep.meta ? dep.meta.exports : null;
    if (exports !== null && dep.meta.starExports.length) exportTable(dep);
    for (let j = 0; j < names.length; j++) {
      const name = names[j];
      // A binding the dependency defines itself (most imports): found, with no answer to make.
      if (exports !== null && Object.hasOwn(exports, name) && typeof exports[name] === "string") continue;
      const resolution = dep ? resolveExport(dep, name) : null;
      if (resolution === null || resolution === AMBIGUOUS) {
        throw linkError(record, dep, name, resolution === AMBIGUOUS, entry[0], entry[3], entry[4]);
      }
    }
  }
  const exported = Object.keys(meta.exports);
  for (let i = 0; i < exported.length; i++) {
    const name = exported[i];
    const sent = meta.exports[name];
    if (typeof sent === "string") continue;
    const dep = record.deps.get(sent[0]);
    if (dep && dep.meta && dep.meta.starExports.length && sent[1] !== "*") exportTable(dep);
    const resolution = resolveExport(record, name);
    if (resolution === AMBIGUOUS || resolution === null) {
      throw linkError(record, dep, sent[1], resolution === AMBIGUOUS, sent[0]);
    }
    defineForwardingBinding(record.exports, name, resolution);
  }
}

// The spec's GetModuleNamespace: made once per module; its names are listed from the export table
// when the namespace needs them all.
function moduleNamespace(record) {
  if (!record.namespaceObject) {
    const listNames = () => {
      const names = [];
      for (const [name, resolution] of exportTable(record)) {
        if (resolution !== null && resolution !== AMBIGUOUS) names.push(name); // ambiguous: not exported
      }
      return names;
    };
    const hasName = (name) => {
      // Its own exports, its explicit re-exports and the star exports already looked up.
      if (Object.hasOwn(record.exports, name)) return true;
      if (!record.meta) return false;
      const resolution = resolveExport(record, name);
      if (resolution === null || resolution === AMBIGUOUS) return false;
      defineForwardingBinding(record.exports, name, resolution);
      return true;
    };
    record.namespaceObject = createNamespace(record.exports, listNames, hasName);
  }
  return record.namespaceObject;
}

// The module's export entry for `name` as sent ("local", "var" or [specifier, import]), or undefined.
function exportEntry(record, name) {
  const exports = record.meta.exports;
  return Object.hasOwn(exports, name) ? exports[name] : undefined;
}

// The spec's ResolveExport: {record, name}, {record, namespace: true}, null or AMBIGUOUS.
function resolveExport(record, name) {
  if (record.meta) {
    const entry = exportEntry(record, name);
    if (typeof entry === "string") return { record, name }; // the common case: no search
    // A re-export of a name its module declares (a barrel's `export { x } from`): no search either.
    if (entry !== undefined && entry[1] !== "*") {
      const dep = record.deps.get(entry[0]);
      const target = dep && dep.meta ? exportEntry(dep, entry[1]) : undefined;
      if (typeof target === "string") return { record: dep, name: entry[1] };
    }
  }
  const known = record.resolutions === null ? undefined : record.resolutions.get(name);
  return known !== undefined ? known : searchResolution(record, name);
}

// ResolveExport for every (module, name) pair reachable from the one asked, in one search. What
// the spec's recursion (with its resolveSet) answers for a pair is the join of the bindings the
// pair reaches through re-exports: none (null), one, or AMBIGUOUS. Pairs on a cycle reach the same
// bindings, so each strongly connected component (Tarjan's algorithm, with an explicit stack)
// gets one answer, kept on every member's record: no pair is searched twice.
function searchResolution(record, name) {
  const nodes = new Map(); // record -> Map(name -> node)
  const components = []; // Tarjan's stack
  const path = []; // the search's own stack
  let counter = 0;
  let volatile = false; // an answer read from a module without link metadata is not kept
  const open = (r, n) => {
    let byName = nodes.get(r);
    if (!byName) nodes.set(r, byName = new Map());
    const node = { record: r, name: n, index: counter, low: counter, value: null, edges: NO_EDGES, next: 0, open: true };
    counter++;
    byName.set(n, node);
    if (!r.meta) volatile = true;
    node.edges = edgesOf(node);
    components.push(node);
    path.push(node);
  };
  open(record, name);
  while (path.length) {
    const node = path[path.length - 1];
    if (node.next < node.edges.length) {
      const r = node.edges[node.next];
      const n = node.edges[node.next + 1];
      node.next += 2;
      const known = r.resolutions === null ? undefined : r.resolutions.get(n);
      if (known !== undefined) {
        node.value = join(node.value, known);
        continue;
      }
      const byName = nodes.get(r);
      const seen = byName && byName.get(n);
      if (!seen) open(r, n);
      else if (seen.open) node.low = Math.min(node.low, seen.index);
      else node.value = join(node.value, seen.value);
      continue;
    }
    path.pop();
    if (node.low === node.index) {
      let member;
      do {
        member = components.pop();
        member.open = false;
        member.value = node.value;
        if (!volatile && member.record.meta) {
          if (member.record.resolutions === null) member.record.resolutions = new Map();
          member.record.resolutions.set(member.name, node.value);
        }
      } while (member !== node);
    }
    const parent = path[path.length - 1];
    if (parent) {
      parent.low = Math.min(parent.low, node.low);
      parent.value = join(parent.value, node.value);
    }
  }
  return nodes.get(record).get(name).value;
}

// The pairs a pair's answer comes from, flat ([record, name, record, name, ...]); a pair that is a
// binding (or known from its module's export table) gets its value instead.
function edgesOf(node) {
  const record = node.record;
  const name = node.name;
  if (!record.meta) {
    node.value = name in record.exports ? { record, name } : null;
    return NO_EDGES;
  }
  const entry = exportEntry(record, name);
  if (entry !== undefined) {
    if (typeof entry === "string") {
      node.value = { record, name };
      return NO_EDGES;
    }
    const dep = record.deps.get(entry[0]);
    if (!dep) return NO_EDGES;
    if (entry[1] === "*") {
      node.value = { record: dep, namespace: true };
      return NO_EDGES;
    }
    return [dep, entry[1]];
  }
  if (name === "default") return NO_EDGES; // never through `export *`
  if (record.table !== null) {
    const known = record.table.get(name);
    node.value = known === undefined ? null : known;
    return NO_EDGES;
  }
  const edges = [];
  for (const specifier of record.meta.starExports) {
    const dep = record.deps.get(specifier);
    if (dep) edges.push(dep, name);
  }
  return edges;
}

function join(a, b) {
  if (a === null) return b;
  if (b === null || a === AMBIGUOUS) return a;
  if (b === AMBIGUOUS) return b;
  return sameBinding(a, b) ? a : AMBIGUOUS;
}

function sameBinding(a, b) {
  if (a === b) return true;
  if (a === null || b === null || a === AMBIGUOUS || b === AMBIGUOUS) return false;
  return a.record === b.record && a.name === b.name && Boolean(a.namespace) === Boolean(b.namespace);
}

// The module's export table: every name GetExportedNames gives, with its ResolveExport answer.
// Built once per module, when its namespace is needed or a module imports from it through
// `export *`, with one walk over the modules its stars reach: a name defined by one of them only
// (or by several that agree) resolves to that binding; only names defined differently are
// searched, to find which definitions the others shadow. Star-exported names are then put on the
// module's exports object, where named imports and the namespace read them.
function exportTable(record) {
  if (record.table !== null) return record.table;
  const table = new Map();
  if (!record.meta) {
    for (const name of Object.keys(record.exports)) table.set(name, { record, name });
    return table; // filled as the module runs: not kept
  }
  const ownExports = record.meta.exports;
  for (const name of Object.keys(ownExports)) table.set(name, resolveExport(record, name));
  let volatile = false;
  const conflicts = new Set();
  const seen = new Set();
  const todo = [];
  const reach = (from) => {
    for (const specifier of from.meta.starExports) {
      const dep = from.deps.get(specifier);
      if (dep && !seen.has(dep)) {
        seen.add(dep);
        todo.push(dep);
      }
    }
  };
  reach(record);
  while (todo.length) {
    const dep = todo.pop();
    if (!dep.meta) volatile = true;
    for (const name of dep.meta ? Object.keys(dep.meta.exports) : Object.keys(dep.exports)) {
      if (name === "default" || Object.hasOwn(ownExports, name)) continue;
      const resolution = dep.meta ? resolveExport(dep, name) : { record: dep, name };
      const before = table.get(name);
      if (before === undefined) table.set(name, resolution);
      else if (!sameBinding(before, resolution)) conflicts.add(name);
    }
    if (dep.meta) reach(dep);
  }
  for (const name of conflicts) table.set(name, resolveExport(record, name));
  for (const [name, resolution] of table) {
    if (Object.hasOwn(ownExports, name) || resolution === null || resolution === AMBIGUOUS) continue;
    if (!Object.hasOwn(record.exports, name)) defineForwardingBinding(record.exports, name, resolution);
  }
  if (!volatile) record.table = table;
  return table;
}

// The modules to link from `root` (itself, and those it reaches through modules not linked yet),
// depth first in import order (the order link errors are found in), and the set of those that are
// part of an import cycle (Tarjan's strongly connected components, a module importing itself
// counting as a cycle): one walk, with an explicit stack.
// The walk's state is kept on the records (Maps cost more per module than the walk itself):
// `linkWalk` marks those this walk reached, `dfsIndex` and `dfsAncestor` are Tarjan's index and
// low link (the evaluation's fields: set afresh when it walks them), `linkOpen` whether a record
// is on Tarjan's stack.
function linkOrder(root) {
  const pending = [];
  const cyclic = new Set();
  if (root.status !== "fetched") return { pending, cyclic };
  const walk = ++linkWalks;
  const stack = [];
  const path = []; // frames of three: a record, its deps as an array, the position in them
  const enter = (record) => {
    record.linkWalk = walk;
    record.dfsIndex = record.dfsAncestor = pending.length;
    record.linkOpen = true;
    pending.push(record);
    stack.push(record);
    path.push(record, [...record.deps.values()], 0);
  };
  enter(root);
  while (path.length) {
    const top = path.length - 3;
    const record = path[top];
    const deps = path[top + 1];
    const next = path[top + 2];
    if (next < deps.length) {
      path[top + 2] = next + 1;
      const dep = deps[next];
      if (dep.status !== "fetched") continue; // linked already: not walked again
      if (dep.linkWalk !== walk) enter(dep);
      else if (dep.linkOpen) record.dfsAncestor = Math.min(record.dfsAncestor, dep.dfsIndex);
      continue;
    }
    path.length = top;
    if (record.dfsAncestor === record.dfsIndex) {
      if (stack[stack.length - 1] === record) {
        // A component of one (most modules: no array to make for it).
        stack.pop();
        record.linkOpen = false;
        if (deps.includes(record)) cyclic.add(record);
      } else {
        const component = stack.splice(stack.lastIndexOf(record));
        for (const member of component) {
          member.linkOpen = false;
          cyclic.add(member);
        }
      }
    }
    if (path.length) {
      const parent = path[path.length - 3];
      parent.dfsAncestor = Math.min(parent.dfsAncestor, record.dfsAncestor);
    }
  }
  return { pending, cyclic };
}

function defineTdzBinding(exportsObject, name) {
  defineGetter(exportsObject, name, function get() { throw new ReferenceError(`Cannot access '${name}' before initialization`); });
}

function defineForwardingBinding(exportsObject, name, resolution) {
  const source = resolution.record;
  defineGetter(exportsObject, name, resolution.namespace ? () => moduleNamespace(source) : () => source.exports[resolution.name]);
}

// `line` and `column`: where the import is (none for a re-export).
function linkError(record, dep, name, ambiguous, specifier, line, column) {
  const target = dep ? dep.url : specifier;
  const commonjs = dep && dep.meta && dep.meta.format === "commonjs";
  const message = ambiguous
    ? `The requested module '${specifier}' contains conflicting star exports for name '${name}'`
    : commonjs
      ? `Named export '${name}' not found. The requested module '${specifier}' is a CommonJS module, which ` +
        "may not support all module.exports as named exports.\nCommonJS modules can always be imported via the " +
        `default export, for example using:\n\nimport pkg from '${specifier}';\nconst { ${name} } = pkg;\n`
      : `The requested module '${specifier}' does not provide an export named '${name}'`;
  const error = new SyntaxError(message);
  error.code = "ERR_LINK";
  error.importer = record.file;
  error.id = target;
  if (line) error.loc = { file: record.file, line, column };
  const where = line ? `${record.file}:${line}:${column}` : record.file;
  Object.defineProperty(error, "stack", { value: `SyntaxError: ${message}\n    at ${where}`, writable: true, configurable: true });
  return error;
}
