// provides: installProfile
// uses: installConsole

// The `bare` profile: ECMAScript plus `console`, and the event loop's timers and `queueMicrotask`.

function installProfile(global, transport, config, loop) {
  loop.print = installConsole(global, transport, config);
  // The engine's own queueMicrotask would let an exception from the callback escape the job queue
  // and end the runtime; the loop's reports it.
  loop.install(global, ["setTimeout", "setInterval", "clearTimeout", "clearInterval", "queueMicrotask"]);
}
