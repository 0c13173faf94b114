// provides: createNamespace
// uses:

// Module namespace objects with the spec's exotic behaviour (sorted keys, live values, writable
// but unassignable, non-extensible, null prototype, @@toStringTag "Module"), as a Proxy over a
// frozen-shape target so that every Proxy invariant holds. Named imports never go through this:
// they read the module's plain exports object, which is much faster.

function createNamespace(record, names) {
  const sorted = names.slice().sort();
  const exported = new Set(sorted);
  const target = Object.create(null);
  for (const name of sorted) {
    Object.defineProperty(target, name, { value: undefined, writable: true, enumerable: true, configurable: false });
  }
  Object.defineProperty(target, Symbol.toStringTag, { value: "Module", writable: false, enumerable: false, configurable: false });
  Object.preventExtensions(target);
  const exportsObject = record.exports;

  const currentDescriptor = (key) => ({ value: exportsObject[key], writable: true, enumerable: true, configurable: false });

  return new Proxy(target, {
    get(t, key) {
      if (typeof key === "symbol") return t[key];
      return exported.has(key) ? exportsObject[key] : undefined;
    },
    set() { return false; },
    has(t, key) {
      return typeof key === "symbol" ? key in t : exported.has(key);
    },
    deleteProperty(t, key) {
      if (typeof key === "symbol") return Reflect.deleteProperty(t, key);
      return !exported.has(key);
    },
    getOwnPropertyDescriptor(t, key) {
      if (typeof key === "symbol") return Reflect.getOwnPropertyDescriptor(t, key);
      return exported.has(key) ? currentDescriptor(key) : undefined;
    },
    defineProperty(t, key, desc) {
      if (typeof key === "symbol") return Reflect.defineProperty(t, key, desc);
      if (!exported.has(key)) return false;
      const current = currentDescriptor(key);
      if (desc.configurable === true || desc.enumerable === false) return false;
      if ("get" in desc || "set" in desc) return false;
      if (desc.writable === false) return false;
      if ("value" in desc) return Object.is(desc.value, current.value);
      return true;
    },
    ownKeys(t) { return Reflect.ownKeys(t); },
    getPrototypeOf() { return null; },
    setPrototypeOf(t, proto) { return proto === null; },
    isExtensible() { return false; },
    preventExtensions() { return true; },
  });
}
