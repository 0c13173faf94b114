// provides: Bindings
// uses: Object, Array, Reflect, Error, TypeError, RangeError, String, Number, Set
// private: BytesType, ArrayBufferType, isView, subarray, fromCharCode, BYTES, OBJECT, valueToWire, valueFromWire, bytesFromLatin1, latin1FromBytes, frozenData, ERROR_TYPES

// The host's bindings (runner/capabilities/bindings.py) as the `env` object: what
// `import env from "modrun:env"` gives and what a fetch handler receives as its second argument.
// Data arrives deep-frozen; each callable becomes an async function whose arguments and result
// cross as JSON plus bytes (a Uint8Array, an ArrayBuffer or any view goes to the host as bytes;
// bytes come back as a Uint8Array). The host is asked once per runtime (`bindings("describe")`),
// when the env is first wanted; the same frozen object serves every importer.

// Taken at boot: module code may replace the globals later.
const BytesType = Uint8Array;
const ArrayBufferType = ArrayBuffer;
const isView = ArrayBuffer.isView;
const subarray = Uint8Array.prototype.subarray;
const fromCharCode = String.fromCharCode;
// Wire markers for what JSON lacks: bytes (as a Latin-1 string: one char per byte, no base64
// codec needed in the bare profile) and an object of the caller's that has a `$modrun` key itself.
const BYTES = "bytes";
const OBJECT = "object";
const ERROR_TYPES = { TypeError, RangeError };

function latin1FromBytes(bytes) {
  let text = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    text += Reflect.apply(fromCharCode, null, Reflect.apply(subarray, bytes, [i, i + 8192]));
  }
  return text;
}

function bytesFromLatin1(text) {
  const out = new BytesType(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

// A JS value as wire data, or a TypeError that names where in it the value JSON cannot carry is.
function valueToWire(value, where, ancestors) {
  if (value === null || typeof value === "string" || typeof value === "boolean") return value;
  if (value === undefined) return null;
  if (typeof value === "number") {
    if (Number.isFinite(value)) return value;
    throw new TypeError(`${where} is ${value}, which JSON cannot carry`);
  }
  if (typeof value !== "object") throw new TypeError(`${where} is a ${typeof value}, which cannot cross to the host`);
  if (value instanceof ArrayBufferType) return { $modrun: BYTES, latin1: latin1FromBytes(new BytesType(value)) };
  if (isView(value)) {
    return { $modrun: BYTES, latin1: latin1FromBytes(new BytesType(value.buffer, value.byteOffset, value.byteLength)) };
  }
  if (ancestors.has(value)) throw new TypeError(`${where} refers back to itself (a cycle), which JSON cannot carry`);
  ancestors.add(value);
  let out;
  if (Array.isArray(value)) {
    out = [];
    for (let i = 0; i < value.length; i++) out.push(valueToWire(value[i], `${where}[${i}]`, ancestors));
  } else {
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const kind = proto && proto.constructor && proto.constructor.name ? proto.constructor.name : "object";
      throw new TypeError(`${where} is a ${kind}, which cannot cross to the host (plain objects, arrays and bytes can)`);
    }
    out = {};
    for (const key of Object.keys(value)) {
      if (value[key] !== undefined) out[key] = valueToWire(value[key], `${where}.${key}`, ancestors);
    }
    if (Reflect.apply(Object.prototype.hasOwnProperty, out, ["$modrun"])) out = { $modrun: OBJECT, value: out };
  }
  ancestors.delete(value);
  return out;
}

// Wire data as JS values: objects and arrays are fresh (ordinary prototypes), bytes a Uint8Array.
function valueFromWire(value) {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const out = [];
    for (let i = 0; i < value.length; i++) out.push(valueFromWire(value[i]));
    return out;
  }
  if (value.$modrun === BYTES) return bytesFromLatin1(value.latin1);
  const source = value.$modrun === OBJECT ? value.value : value;
  const out = {};
  for (const key of Object.keys(source)) out[key] = valueFromWire(source[key]);
  return out;
}

// Wire data deep-frozen. A typed array cannot be frozen, so bytes in data are a getter that hands
// out a fresh copy each time: no importer can change what another one reads.
function frozenData(value) {
  if (value === null || typeof value !== "object") return value;
  const source = !Array.isArray(value) && value.$modrun === OBJECT ? value.value : value;
  const out = Array.isArray(source) ? [] : {};
  for (const key of Object.keys(source)) {
    const item = source[key];
    if (item !== null && typeof item === "object" && item.$modrun === BYTES) {
      const bytes = bytesFromLatin1(item.latin1);
      Object.defineProperty(out, key, { enumerable: true, get: () => new BytesType(bytes) });
    } else {
      out[key] = frozenData(item);
    }
  }
  return Object.freeze(out);
}

class Bindings {
  constructor(transport) {
    this.transport = transport;
    this.pending = null;
  }

  // The env object (a promise of it): the same frozen object every time.
  env() {
    if (this.pending === null) {
      this.pending = this.transport.invoke("bindings", ["describe"]).then((description) => this.build(description));
    }
    return this.pending;
  }

  build(description) {
    const env = {};
    for (const name of Object.keys(description.values)) {
      const value = description.values[name];
      if (value !== null && typeof value === "object" && value.$modrun === BYTES) {
        const bytes = bytesFromLatin1(value.latin1);
        Object.defineProperty(env, name, { enumerable: true, get: () => new BytesType(bytes) });
      } else {
        env[name] = frozenData(value);
      }
    }
    for (const name of description.functions) env[name] = Object.freeze(this.callable(name));
    return Object.freeze(env);
  }

  callable(name) {
    const transport = this.transport;
    const call = {
      async [name](...args) {
        // Made here, so that a failure's stack is the caller's, not the host's.
        const failure = new Error();
        const wire = valueToWire(args, `the arguments of env.${name}`, new Set());
        let result;
        try {
          result = await transport.invoke("bindings", ["call", name, wire]);
        } catch (error) {
          // The host's type and text, as a built-in error's own properties are: not enumerable.
          const Type = ERROR_TYPES[error.name];
          const thrown = Type ? new Type(String(error.message)) : failure;
          const define = (key, value) => Object.defineProperty(thrown, key, { value, writable: true, configurable: true });
          define("message", String(error.message));
          if (!Type && error.name !== "Error") define("name", String(error.name));
          if (Type) define("stack", failure.stack);
          throw thrown;
        }
        return valueFromWire(result);
      },
    };
    return call[name];
  }
}
