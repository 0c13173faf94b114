// provides: StackTraces, PLATFORM_SOURCES
// uses:
// private: RUNNER_FRAME, INTERRUPTION, isInterruption, errorHeader, countLines, utf16Column

// Source-mapped stack traces.
//
// QuickJS names every compiled source "<input>", so a frame's file says nothing. A frame does
// carry its function object: a module's wrapper is known by identity, and any function defined
// inside a module is found by locating its source text in the module's wrapper source (checked
// against the frame's line). Stacks are formatted lazily, on the first read of `error.stack`,
// so code that throws without looking at stacks pays only for capturing the call sites.

class StackTraces {
  // startOffset: the lines a module's wrapper puts before its line 1 (the evaluator's).
  constructor(runnerSource, startOffset) {
    this.runnerSource = runnerSource; // frames inside the runner itself are left out
    this.startOffset = startOffset;
    this.modules = new Set(); // in registration order
    this.byWrapper = new WeakMap();
    this.byFunction = new WeakMap();
    this.sites = new WeakMap(); // error -> raw call sites, for phase checks
    this.functionText = Function.prototype.toString; // taken before any module runs
  }

  // The module's wrapper source: for a wrapper the host gave by key (esm_evaluator.js), the
  // wrapper's own text, which is the source it was compiled from, read when first needed.
  sourceOf(record) {
    if (record.wrapperSource === null) record.wrapperSource = Reflect.apply(this.functionText, record.wrapper, []);
    return record.wrapperSource;
  }

  register(record) {
    this.modules.add(record);
    this.byWrapper.set(record.wrapper, record);
  }

  unregister(record) {
    this.modules.delete(record);
  }

  install() {
    const traces = this;
    // QuickJS-ng calls the hook at construction and, while the hook's answer is undefined, again
    // for every frame an exception unwinds through (about 2 µs each: 4 ms for an error thrown 2,000
    // frames deep, and as long for a limit's stop to reach the host). Any other answer ends those
    // calls; the stack itself is the error's own accessor below, so the answer is never read.
    const NO_MORE_FRAMES = "";
    const captured = new WeakSet();
    // Error.captureStackTrace(target) defines `target.stack` as the hook's answer: the stack it
    // captured is kept here and put back on the target as an accessor.
    let capturing = false;
    let capturedStack;
    // An assignment, not defineProperty: QuickJS-ng keeps the hook behind an accessor.
    Error.prepareStackTrace = function prepareStackTrace(error, sites) {
      if (typeof error !== "object" || error === null || (captured.has(error) && !capturing)) return NO_MORE_FRAMES;
      // The engine's stop unwinds past every catch to the host, whose binding reads its stack:
      // formatting it (finding every frame's module by its source text) would keep the stopped
      // runtime busy for milliseconds past its limit, for a stack no one reads.
      if (isInterruption(error)) {
        Object.defineProperty(error, "stack", { value: "", writable: true, configurable: true, enumerable: false });
        return NO_MORE_FRAMES;
      }
      captured.add(error);
      const raw = [];
      for (const site of sites) {
        raw.push([site.getFunction(), site.getFunctionName(), site.getLineNumber(), site.getColumnNumber(),
          site.isNative()]);
      }
      traces.sites.set(error, raw);
      let formatted;
      const stack = {
        configurable: true, enumerable: false,
        get() {
          if (formatted === undefined) formatted = traces.format(error, raw);
          return formatted;
        },
        set(value) {
          Object.defineProperty(error, "stack", { value, writable: true, configurable: true, enumerable: false });
        },
      };
      if (capturing) capturedStack = stack;
      else Object.defineProperty(error, "stack", stack);
      return NO_MORE_FRAMES;
    };
    const capture = Error.captureStackTrace;
    if (typeof capture === "function") {
      Error.captureStackTrace = function captureStackTrace(target, constructorOpt) {
        capturing = true;
        capturedStack = undefined;
        try {
          capture(target, constructorOpt);
        } finally {
          capturing = false;
        }
        if (capturedStack !== undefined) Object.defineProperty(target, "stack", capturedStack);
        capturedStack = undefined;
      };
    }
  }

  moduleOf(fn, line) {
    if (typeof fn !== "function") return null;
    const direct = this.byWrapper.get(fn);
    if (direct) return direct;
    if (this.byFunction.has(fn)) return this.byFunction.get(fn);
    let found = null;
    let text;
    try { text = Function.prototype.toString.call(fn); } catch { text = ""; }
    if (text && !text.endsWith("[native code]\n}")) {
      for (const record of this.modules) {
        const source = this.sourceOf(record);
        let at = source.indexOf(text);
        while (at >= 0) {
          const startLine = countLines(source, at);
          if (line >= startLine && line <= startLine + countLines(text, text.length) - 1) {
            found = record;
            break;
          }
          at = source.indexOf(text, at + 1);
        }
        if (found) break;
      }
      if (!found && this.runnerSource.indexOf(text) >= 0) found = RUNNER_FRAME;
      // A plain loop, no callback: this also runs while an interrupted error is being built, when
      // a JavaScript call would be interrupted again (and the error lost as `null`).
      for (let i = 0; !found && i < PLATFORM_SOURCES.length; i++) {
        if (PLATFORM_SOURCES[i].indexOf(text) >= 0) found = RUNNER_FRAME;
      }
    }
    this.byFunction.set(fn, found);
    return found;
  }

  // Where a function is defined, as "file:line:column" of the original source; null for one that
  // is native, the runner's own, or not in a module (a script's, or made from a string).
  locate(fn) {
    let text;
    try { text = Function.prototype.toString.call(fn); } catch { return null; }
    if (!text || text.endsWith("[native code]\n}")) return null;
    for (const record of this.modules) {
      const source = this.sourceOf(record);
      const at = source.indexOf(text);
      if (at < 0) continue;
      const line = countLines(source, at);
      const column = at - source.lastIndexOf("\n", at - 1);
      const original = record.originalPosition(line, column);
      if (original) return `${original.source || record.file}:${original.line}:${original.column}`;
      return `${record.file}:${line - this.startOffset}:${column}`;
    }
    return null;
  }

  // One frame as "name (file:line:column)" with the original position, or null to leave it out.
  frame(fn, name, line, column, isNative) {
    if (isNative) return name ? `${name} (native)` : "<native>";
    const record = this.moduleOf(fn, line);
    if (record === RUNNER_FRAME) return null;
    if (!record) return `${name || "<anonymous>"} (<anonymous>:${line}:${column})`;
    column = utf16Column(this.sourceOf(record), line, column);
    let where = `${record.file}:${line - this.startOffset}:${column}`;
    const original = record.originalPosition(line, column);
    if (original) where = `${original.source || record.file}:${original.line}:${original.column}`;
    const label = record.wrapper === fn ? "<module>" : name || "<anonymous>";
    return `${label} (${where})`;
  }

  format(error, raw) {
    let head;
    // The header as V8 writes it (Error.prototype.toString's reading of name and message, whatever
    // the object's own toString says): `Error` for a plain object given to captureStackTrace.
    try { head = errorHeader(error); } catch { head = "Error"; } // a hostile getter
    const lines = [head];
    let lastUser = 0;
    for (const [fn, name, line, column, isNative] of raw) {
      const text = this.frame(fn, name, line, column, isNative);
      if (text === null) continue;
      lines.push(`    at ${text}`);
      if (!isNative) lastUser = lines.length;
    }
    // Native frames past the last user frame are the runner calling in (apply, call): noise.
    return lines.slice(0, lastUser || 1).join("\n");
  }

  // Where the parser stopped in `source` (the text a function was being compiled from), as [line,
  // column in UTF-16 units], for an error that compile raised: its first call site is the source's
  // own, with no function. Null where the engine gave no position (its errors in a regular
  // expression: the host places those, runner/compile_errors.py).
  parsePosition(error, source) {
    const raw = this.sites.get(error);
    const site = raw && raw.length ? raw[0] : null;
    if (!site || site[0] != null || site[4] || typeof site[2] !== "number") return null;
    return [site[2], utf16Column(source, site[2], site[3])];
  }

  // Was this error raised while `eval` parsed its source (not thrown by the code it ran)? The
  // parser's error has no frame of the evaluated code: its caller is `eval` itself, while a
  // throw at the top of a script comes from the "<eval>" frame.
  isEvalParseError(error) {
    const raw = this.sites.get(error);
    return Boolean(raw && raw.length > 1 && raw[1][4] && raw[1][1] === "eval" && raw[0][1] !== "<eval>");
  }
}

const RUNNER_FRAME = { runner: true };
// What QuickJS throws when its interrupt handler says stop (a limit): an uncatchable InternalError.
// Bound before user code runs: a user's Reflect or Function.prototype.call cannot change it.
const errorHeader = Function.prototype.call.bind(Error.prototype.toString);
const INTERRUPTION = { prototype: globalThis.InternalError ? globalThis.InternalError.prototype : null, message: "interrupted" };

// Native calls only, no property read that user code could intercept: this runs while the
// interrupted error is being built, when a JavaScript call would be interrupted again.
function isInterruption(error) {
  if (INTERRUPTION.prototype === null || Object.getPrototypeOf(error) !== INTERRUPTION.prototype) return false;
  const message = Object.getOwnPropertyDescriptor(error, "message");
  return message !== undefined && message.value === INTERRUPTION.message;
}
// Sources the profile compiles apart from the bundle (its libraries): their frames are the
// platform's, left out of stacks like the runner's own.
const PLATFORM_SOURCES = [];

function countLines(text, end) {
  let lines = 1;
  for (let i = text.indexOf("\n"); i >= 0 && i < end; i = text.indexOf("\n", i + 1)) lines++;
  return lines;
}

// QuickJS-ng counts columns in UTF-8 bytes; source maps (and editors) count UTF-16 units.
function utf16Column(source, line, byteColumn) {
  let start = 0;
  for (let n = 1; n < line; n++) {
    const newline = source.indexOf("\n", start);
    if (newline < 0) return byteColumn;
    start = newline + 1;
  }
  let bytes = 0;
  let units = 0;
  while (bytes < byteColumn - 1) {
    const code = source.charCodeAt(start + units);
    if (Number.isNaN(code) || code === 10) break;
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) { bytes += 4; units += 1; }
    else bytes += 3;
    units += 1;
  }
  return units + 1;
}
