// provides: defineLocalBindings, resolveBindings, cyclicRecords
// uses:
// private: AMBIGUOUS, exportedNames, resolveExport, defineTdzBinding, defineForwardingBinding, linkError

// Linking, as the spec does it, from the link metadata the server sends with each module (its
// import and export entries, under `modrun`): every import and re-export is resolved with
// ResolveExport before anything runs, so a missing or ambiguous name is a SyntaxError of the
// load. Code from a server without that metadata is linked as it runs (Vite's semantics).

const AMBIGUOUS = { ambiguous: true };

// The module's own exports start in their temporal dead zone: reading one before its
// declaration has run throws, as it does for a binding of a module in the spec.
function defineLocalBindings(record) {
  if (!record.meta) return;
  for (const [name, entry] of Object.entries(record.meta.exports)) {
    if (entry.kind === "local") defineTdzBinding(record.exports, name);
  }
}

// Checks every import of the module and binds its re-exports to the modules that define them.
function resolveBindings(record) {
  if (!record.meta) return;
  const meta = record.meta;
  for (const entry of meta.imports) {
    const dep = record.deps.get(entry.key);
    for (const name of entry.names) {
      const resolution = resolveExport(dep, name, []);
      if (resolution === null || resolution === AMBIGUOUS) {
        throw linkError(record, dep, name, resolution === AMBIGUOUS, entry);
      }
    }
  }
  const names = [];
  for (const name of exportedNames(record, [])) {
    const resolution = resolveExport(record, name, []);
    if (resolution === AMBIGUOUS || resolution === null) {
      const entry = meta.exports[name];
      if (entry) throw linkError(record, record.deps.get(entry.specifier), entry.import, resolution === AMBIGUOUS, entry);
      continue; // an ambiguous star export is simply not exported
    }
    names.push(name);
    if (resolution.record === record && !resolution.namespace && resolution.name === name) continue;
    defineForwardingBinding(record.exports, name, resolution);
  }
  record.exportedNames = names;
}

// The spec's GetExportedNames.
function exportedNames(record, starSet) {
  if (starSet.includes(record)) return [];
  starSet.push(record);
  const names = Object.keys(record.meta ? record.meta.exports : record.exports);
  if (!record.meta) return names;
  for (const specifier of record.meta.starExports) {
    const dep = record.deps.get(specifier);
    for (const name of exportedNames(dep, starSet)) {
      if (name !== "default" && !names.includes(name)) names.push(name);
    }
  }
  return names;
}

// The spec's ResolveExport: {record, name}, {record, namespace: true}, null or AMBIGUOUS.
function resolveExport(record, name, resolveSet) {
  for (const [r, n] of resolveSet) if (r === record && n === name) return null;
  resolveSet.push([record, name]);
  if (!record.meta) return name in record.exports ? { record, name } : null;
  const entry = record.meta.exports[name];
  if (entry) {
    if (entry.kind === "local") return { record, name };
    const dep = record.deps.get(entry.specifier);
    if (entry.import === "*") return { record: dep, namespace: true };
    return resolveExport(dep, entry.import, resolveSet);
  }
  if (name === "default") return null;
  let found = null;
  for (const specifier of record.meta.starExports) {
    const resolution = resolveExport(record.deps.get(specifier), name, resolveSet);
    if (resolution === AMBIGUOUS) return AMBIGUOUS;
    if (resolution === null) continue;
    if (found === null) found = resolution;
    else if (found.record !== resolution.record || found.name !== resolution.name ||
      Boolean(found.namespace) !== Boolean(resolution.namespace)) return AMBIGUOUS;
  }
  return found;
}

// The records that are part of an import cycle (Tarjan's strongly connected components, with a
// module importing itself counting as a cycle).
function cyclicRecords(records) {
  const inSet = new Set(records);
  const index = new Map();
  const low = new Map();
  const stack = [];
  const onStack = new Set();
  const cyclic = [];
  let next = 0;
  const connect = (record) => {
    index.set(record, next);
    low.set(record, next);
    next++;
    stack.push(record);
    onStack.add(record);
    for (const dep of record.deps.values()) {
      if (!inSet.has(dep)) continue;
      if (!index.has(dep)) {
        connect(dep);
        low.set(record, Math.min(low.get(record), low.get(dep)));
      } else if (onStack.has(dep)) {
        low.set(record, Math.min(low.get(record), index.get(dep)));
      }
    }
    if (low.get(record) === index.get(record)) {
      const component = [];
      let member;
      do {
        member = stack.pop();
        onStack.delete(member);
        component.push(member);
      } while (member !== record);
      const selfImport = component.length === 1 && [...record.deps.values()].includes(record);
      if (component.length > 1 || selfImport) cyclic.push(...component);
    }
  };
  for (const record of records) if (!index.has(record)) connect(record);
  return cyclic;
}

function defineTdzBinding(exportsObject, name) {
  Object.defineProperty(exportsObject, name, {
    get() { throw new ReferenceError(`Cannot access '${name}' before initialization`); },
    enumerable: true, configurable: true,
  });
}

function defineForwardingBinding(exportsObject, name, resolution) {
  const source = resolution.record;
  const get = resolution.namespace ? () => source.namespace() : () => source.exports[resolution.name];
  Object.defineProperty(exportsObject, name, { get, enumerable: true, configurable: true });
}

function linkError(record, dep, name, ambiguous, entry) {
  const target = dep ? dep.url : entry.specifier;
  const commonjs = dep && dep.meta && dep.meta.format === "commonjs";
  const message = ambiguous
    ? `The requested module '${entry.specifier}' contains conflicting star exports for name '${name}'`
    : commonjs
      ? `Named export '${name}' not found. The requested module '${entry.specifier}' is a CommonJS module, which ` +
        "may not support all module.exports as named exports.\nCommonJS modules can always be imported via the " +
        `default export, for example using:\n\nimport pkg from '${entry.specifier}';\nconst { ${name} } = pkg;\n`
      : `The requested module '${entry.specifier}' does not provide an export named '${name}'`;
  const error = new SyntaxError(message);
  error.code = "ERR_LINK";
  error.importer = record.file;
  error.id = target;
  if (entry.line) error.loc = { file: record.file, line: entry.line, column: entry.column };
  const where = entry.line ? `${record.file}:${entry.line}:${entry.column}` : record.file;
  Object.defineProperty(error, "stack", { value: `SyntaxError: ${message}\n    at ${where}`, writable: true, configurable: true });
  return error;
}
