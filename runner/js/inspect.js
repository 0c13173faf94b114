// provides: inspect, formatLog
// uses:
// private: wrap, quote, inspectFunction, inspectError

// Node-like formatting of values for console output (util.format and util.inspect, the parts
// people read): strings bare at top level and quoted inside, objects as { a: 1 }, errors by stack.

function inspect(value, depth = 2, seen = []) {
  switch (typeof value) {
    case "string": return seen.length ? quote(value) : value;
    case "number": return Object.is(value, -0) ? "-0" : String(value);
    case "bigint": return `${value}n`;
    case "symbol": return value.toString();
    case "undefined": return "undefined";
    case "boolean": return String(value);
    case "function": return inspectFunction(value);
  }
  if (value === null) return "null";
  if (seen.includes(value)) return "[Circular]";
  try {
    if (value instanceof Error) return inspectError(value);
    if (value instanceof Date) return isNaN(value) ? "Invalid Date" : value.toISOString();
    if (value instanceof RegExp) return String(value);
    if (value instanceof Promise) return "Promise { <unknown> }";
  } catch {
    return "[object]";
  }
  if (depth < 0) return Array.isArray(value) ? "[Array]" : "[Object]";
  const inner = seen.concat([value]);
  const item = (v) => inspect(v, depth - 1, inner);
  if (Array.isArray(value)) {
    const parts = [];
    let holes = 0;
    const flushHoles = () => {
      if (holes) parts.push(`<${holes} empty item${holes === 1 ? "" : "s"}>`);
      holes = 0;
    };
    for (let i = 0; i < value.length && i < 100; i++) {
      if (i in value) {
        flushHoles();
        parts.push(item(value[i]));
      } else {
        holes++;
      }
    }
    flushHoles();
    if (value.length > 100) parts.push(`... ${value.length - 100} more items`);
    return wrap("[", parts, "]");
  }
  if (value instanceof Map) {
    const parts = [];
    for (const [k, v] of value) parts.push(`${item(k)} => ${item(v)}`);
    return `Map(${value.size}) ${wrap("{", parts, "}")}`;
  }
  if (value instanceof Set) {
    const parts = [];
    for (const v of value) parts.push(item(v));
    return `Set(${value.size}) ${wrap("{", parts, "}")}`;
  }
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const parts = Array.from(value.slice(0, 100), (v) => item(v));
    return `${value.constructor.name}(${value.length}) ${wrap("[", parts, "]")}`;
  }
  const parts = [];
  for (const key of Reflect.ownKeys(value)) {
    const desc = Object.getOwnPropertyDescriptor(value, key);
    if (!desc || !desc.enumerable) continue;
    const label = typeof key === "symbol" ? `[${key.toString()}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? key : quote(key);
    let shown;
    if ("value" in desc) shown = item(desc.value);
    else shown = desc.get ? (desc.set ? "[Getter/Setter]" : "[Getter]") : "[Setter]";
    parts.push(`${label}: ${shown}`);
  }
  const proto = Object.getPrototypeOf(value);
  let prefix = "";
  if (proto === null) {
    const tag = value[Symbol.toStringTag];
    prefix = tag === "Module" ? "[Module: null prototype] " : "[Object: null prototype] ";
  } else if (proto !== Object.prototype) {
    const name = proto.constructor && proto.constructor.name;
    if (name) prefix = `${name} `;
  }
  return prefix + wrap("{", parts, "}");
}

function wrap(open, parts, close) {
  if (parts.length === 0) return open + close;
  const single = `${open} ${parts.join(", ")} ${close}`;
  if (single.length <= 72 && !single.includes("\n")) return single;
  return `${open}\n  ${parts.join(",\n").split("\n").join("\n  ")}\n${close}`;
}

// Node's choice of quotes: single, else double when the text has a single quote, else backtick.
function quote(text) {
  const escaped = text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
  if (!text.includes("'")) return `'${escaped}'`;
  if (!text.includes('"')) return `"${escaped}"`;
  if (!text.includes("`") && !text.includes("${")) return `\`${escaped}\``;
  return `'${escaped.replace(/'/g, "\\'")}'`;
}

function inspectFunction(fn) {
  let source = "";
  try { source = Function.prototype.toString.call(fn); } catch {}
  if (source.startsWith("class")) return `[class ${fn.name || "(anonymous)"}]`;
  return fn.name ? `[Function: ${fn.name}]` : "[Function (anonymous)]";
}

function inspectError(error) {
  const stack = error.stack;
  return typeof stack === "string" && stack ? stack : String(error);
}

function formatLog(args) {
  if (args.length === 0) return "";
  const first = args[0];
  let rest = 1;
  let head;
  if (typeof first === "string" && first.includes("%")) {
    head = first.replace(/%[sdifjoOc%]/g, (token) => {
      if (token === "%%") return "%";
      if (rest >= args.length) return token;
      const arg = args[rest++];
      switch (token) {
        case "%s": return typeof arg === "string" ? arg : inspect(arg, 1, [{}]);
        case "%d": case "%i": return typeof arg === "bigint" ? `${arg}n` : String(token === "%i" ? parseInt(arg) : Number(arg));
        case "%f": return String(parseFloat(arg));
        case "%j": try { return JSON.stringify(arg); } catch { return "[Circular]"; }
        case "%c": return "";
        default: return inspect(arg, 4, [{}]);
      }
    });
  } else {
    head = inspect(first);
  }
  const parts = [head];
  for (let i = rest; i < args.length; i++) parts.push(inspect(args[i]));
  return parts.join(" ");
}
