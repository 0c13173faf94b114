// provides: bootRuntime
// uses: PROTOCOL, MailboxTransport, Bindings, nullMeansOutOfMemory, EventLoop, installProfile, ESModulesEvaluator, FormatEvaluator, HostCompiler, ModuleRunner, HMRClient, createHostApi

// Bootstrap, evaluated last inside the bundle's closure: wires the transport, the event loop, the
// profile (whichever profile's files the bundle holds provide `installProfile`), the module runner
// and the host API, and hands the host its entry points.

function bootRuntime(global, config, runnerSource) {
  const transport = new MailboxTransport();
  if (config.heapLimited) nullMeansOutOfMemory();
  const loop = new EventLoop(transport, global);
  const profile = installProfile(global, transport, config, loop) || {};
  const evaluator = new FormatEvaluator(new ESModulesEvaluator());
  const runner = new ModuleRunner(transport, { runnerSource, env: config.env }, evaluator);
  // The host's bindings as `env`: `await runner.bindings.env()` (bindings.js), also `modrun:env`'s default export.
  runner.bindings = new Bindings(transport);
  evaluator.attach(runner);
  if (config.hmr) runner.hmrClient = new HMRClient(runner, transport);
  const compiler = config.hostCompiles ? new HostCompiler(evaluator, config.codeKeys) : null;
  runner.hostCompiler = compiler;
  loop.traces = runner.traces;
  const api = createHostApi(runner, loop, profile);
  for (const name of PROTOCOL.runtimeMethods) {
    if (typeof api[name] !== "function") throw new Error(`the host API lacks the protocol method '${name}'`);
  }
  transport.connect(api);
  return {
    receive: (text) => transport.receive(text),
    deliver: (messages) => transport.deliver(messages), // the messages receive would parse, parsed
    // With compile requests waiting the host serves them first (host_compiler.js).
    drain: compiler ? () => (compiler.pending ? PROTOCOL.drainCompile : loop.drain()) : () => loop.drain(),
    nextCompile: compiler ? () => compiler.next() : null,
    takeCompiles: compiler ? () => compiler.takeAll() : null,
    compiled: compiler ? (...wrappers) => compiler.compiled(...wrappers) : null,
    outbox: () => transport.drain(), // what a stopped runtime still holds, without running anything
    callNow: (url, requestJson) => api.callNow(url, requestJson),
    callDirect: (url, name, ...args) => api.callDirect(url, name, args),
    // the engine's HostPromiseRejectionTracker (the host installs it)
    track: (promise, reason, handled) => loop.track(promise, reason, handled),
  };
}
