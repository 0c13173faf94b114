// provides: createNamespace
// uses:

// Module namespace objects with the spec's exotic behaviour (sorted keys, live values, writable
// but unassignable, non-extensible, null prototype, @@toStringTag "Module"), as a Proxy over a
// frozen-shape target so that every Proxy invariant holds. Named imports never go through this:
// they read the module's plain exports object, which is much faster.
//
// `listNames()` gives the exported names; `hasName(name)` answers for one name (and makes sure the
// exports object has it). The target is filled from the list on first need: a namespace that is
// only passed along (to `export *`, or awaited, which reads its `then`) costs no list of names.
// `get` and `has` answer one name at a time until then; the other traps fill the target first, so
// every invariant holds against a complete target (and an empty, extensible target constrains
// nothing).

function createNamespace(exportsObject, listNames, hasName) {
  const target = Object.create(null);
  let exported = null;
  const fill = () => {
    const sorted = listNames().slice().sort();
    exported = new Set(sorted);
    for (const name of sorted) {
      Object.defineProperty(target, name, { value: undefined, writable: true, enumerable: true, configurable: false });
    }
    Object.defineProperty(target, Symbol.toStringTag, { value: "Module", writable: false, enumerable: false, configurable: false });
    Object.preventExtensions(target);
  };

  const currentDescriptor = (key) => ({ value: exportsObject[key], writable: true, enumerable: true, configurable: false });

  return new Proxy(target, {
    get(t, key) {
      if (typeof key === "symbol") {
        if (exported === null) fill();
        return t[key];
      }
      const known = exported === null ? hasName(key) : exported.has(key);
      return known ? exportsObject[key] : undefined;
    },
    set() { return false; },
    has(t, key) {
      if (typeof key !== "symbol") return exported === null ? hasName(key) : exported.has(key);
      if (exported === null) fill();
      return key in t;
    },
    deleteProperty(t, key) {
      if (exported === null) fill();
      if (typeof key === "symbol") return Reflect.deleteProperty(t, key);
      return !exported.has(key);
    },
    getOwnPropertyDescriptor(t, key) {
      if (exported === null) fill();
      if (typeof key === "symbol") return Reflect.getOwnPropertyDescriptor(t, key);
      return exported.has(key) ? currentDescriptor(key) : undefined;
    },
    defineProperty(t, key, desc) {
      if (exported === null) fill();
      if (typeof key === "symbol") return Reflect.defineProperty(t, key, desc);
      if (!exported.has(key)) return false;
      const current = currentDescriptor(key);
      if (desc.configurable === true || desc.enumerable === false) return false;
      if ("get" in desc || "set" in desc) return false;
      if (desc.writable === false) return false;
      if ("value" in desc) return Object.is(desc.value, current.value);
      return true;
    },
    ownKeys(t) {
      if (exported === null) fill();
      return Reflect.ownKeys(t);
    },
    getPrototypeOf() { return null; },
    setPrototypeOf(t, proto) { return proto === null; },
    isExtensible() {
      if (exported === null) fill();
      return false;
    },
    preventExtensions() {
      if (exported === null) fill();
      return true;
    },
  });
}
