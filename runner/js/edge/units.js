// provides: loadUnit, defineGlobal, defineLazyGlobals
// uses: LIBRARIES, PLATFORM_SOURCES
// private: loadedUnits

// The vendored libraries (LIBRARIES, built by vendor/build.mjs), each a unit compiled the first time a program
// touches one of the globals it provides: QuickJS compiles everything it parses, so a runtime that
// never uses URL never pays the milliseconds whatwg-url costs to compile. Units are compiled with
// the runner's own Function (the prelude took it before the profile locked code generation down).

const loadedUnits = Object.create(null);

function loadUnit(name) {
  let unit = loadedUnits[name];
  if (unit === undefined) {
    const { source } = LIBRARIES.units[name];
    PLATFORM_SOURCES.push(source);
    const before = new Set(Reflect.ownKeys(globalThis));
    unit = loadedUnits[name] = new Function(source)();
    // A library's private state left on the global (core-js's "__core-js_shared__") is not an API.
    for (const key of Reflect.ownKeys(globalThis)) if (!before.has(key)) delete globalThis[key];
  }
  return unit;
}

// As Web IDL defines interface objects and operations on the global: writable, configurable,
// not enumerable.
function defineGlobal(global, name, value) {
  Object.defineProperty(global, name, { value, writable: true, configurable: true, enumerable: false });
}

// `names` read from `produce()` on first access of any of them; then they are plain data
// properties. Assigning one before that first replaces it, as for any global. While `produce`
// runs, the names read as absent: libraries probe the global for a native version of what they
// are about to provide.
function defineLazyGlobals(global, names, produce) {
  let values = null;
  let producing = false;
  const settle = () => {
    if (values === null && !producing) {
      producing = true;
      try {
        values = produce();
      } finally {
        producing = false;
      }
      for (const name of names) {
        const current = Object.getOwnPropertyDescriptor(global, name);
        if (current && current.get) defineGlobal(global, name, values[name]);
      }
    }
    return values;
  };
  for (const name of names) {
    Object.defineProperty(global, name, {
      configurable: true, enumerable: false,
      get() { const settled = settle(); return settled === null ? undefined : settled[name]; },
      set(value) { settle(); defineGlobal(global, name, value); },
    });
  }
  return settle;
}
