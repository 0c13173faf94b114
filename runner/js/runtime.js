// provides: bootRuntime
// uses: PROTOCOL, MailboxTransport, nullMeansOutOfMemory, installProfile, ESModulesEvaluator, FormatEvaluator, ModuleRunner, HMRClient, createHostApi

// Bootstrap, evaluated last inside the bundle's closure: wires the profile (whichever profile's
// files the bundle holds provide `installProfile`), the transport, the module runner and the host
// API, and hands the host its entry points.

function bootRuntime(global, config, runnerSource) {
  const transport = new MailboxTransport();
  if (config.heapLimited) nullMeansOutOfMemory();
  installProfile(global, transport, config);
  const evaluator = new FormatEvaluator(new ESModulesEvaluator());
  const runner = new ModuleRunner(transport, { runnerSource, env: config.env }, evaluator);
  evaluator.attach(runner);
  if (config.hmr) runner.hmrClient = new HMRClient(runner, transport);
  const api = createHostApi(runner);
  for (const name of PROTOCOL.runtimeMethods) {
    if (typeof api[name] !== "function") throw new Error(`the host API lacks the protocol method '${name}'`);
  }
  transport.connect(api);
  return {
    receive: (text) => transport.receive(text),
    drain: () => transport.drain(),
    callNow: (url, requestJson) => api.callNow(url, requestJson),
    callDirect: (url, name, ...args) => api.callDirect(url, name, args),
  };
}
