// provides: installConsole
// uses: PROTOCOL, inspect, formatLog

// `console`, routed to the host (every profile has it). Output beyond the runtime's output limit is
// dropped and reported once, as a limit error. Answers how to print (level, text): the event loop
// prints its reports through it, under the same limit.

function installConsole(global, transport, config) {
  const outputLimit = config.outputLimit || 0;
  let written = 0;
  let overflowed = false;
  const counters = new Map();
  const timers = new Map();
  let groupIndent = "";

  const emit = (level, text) => {
    if (overflowed) return;
    if (groupIndent) text = groupIndent + text.split("\n").join(`\n${groupIndent}`);
    written += text.length + 1;
    if (outputLimit && written > outputLimit) {
      overflowed = true;
      transport.send({ type: "custom", event: PROTOCOL.limitEvent, data: { limit: "output", message: `console output exceeded ${outputLimit} bytes` } });
      return;
    }
    transport.send({ type: "custom", event: PROTOCOL.consoleEvent, data: { level, text } });
  };
  const logger = (level) => (...args) => emit(level, formatLog(args));

  const console = {
    log: logger("log"), info: logger("info"), debug: logger("debug"),
    warn: logger("warn"), error: logger("error"),
    trace: (...args) => {
      const error = new Error(formatLog(args));
      emit("error", `Trace: ${String(error.stack).split("\n").slice(1).join("\n")}`);
    },
    dir: (value) => emit("log", inspect(value)),
    assert: (condition, ...args) => {
      if (!condition) emit("error", `Assertion failed${args.length ? `: ${formatLog(args)}` : ""}`);
    },
    count: (label = "default") => {
      const n = (counters.get(label) || 0) + 1;
      counters.set(label, n);
      emit("log", `${label}: ${n}`);
    },
    countReset: (label = "default") => counters.delete(label),
    time: (label = "default") => timers.set(label, performance.now()),
    timeEnd: (label = "default") => {
      if (!timers.has(label)) return;
      emit("log", `${label}: ${(performance.now() - timers.get(label)).toFixed(3)}ms`);
      timers.delete(label);
    },
    timeLog: (label = "default", ...args) => {
      if (!timers.has(label)) return;
      emit("log", `${label}: ${(performance.now() - timers.get(label)).toFixed(3)}ms${args.length ? ` ${formatLog(args)}` : ""}`);
    },
    group: (...args) => { if (args.length) emit("log", formatLog(args)); groupIndent += "  "; },
    groupEnd: () => { groupIndent = groupIndent.slice(2); },
    table: (value) => emit("log", inspect(value)),
  };
  // A Web IDL namespace object: its [[Prototype]] an empty object over Object.prototype, and an
  // own @@toStringTag "console".
  Object.setPrototypeOf(console, {});
  Object.defineProperty(console, Symbol.toStringTag, { value: "console", configurable: true });
  Object.defineProperty(global, "console", { value: console, writable: true, configurable: true, enumerable: false });
  return emit;
}
