// provides: installProfile
// uses: installConsole

// The `bare` profile: ECMAScript plus `console` and `queueMicrotask`.

function installProfile(global, transport, config) {
  installConsole(global, transport, config);
  if (typeof global.queueMicrotask !== "function") {
    Object.defineProperty(global, "queueMicrotask", {
      value: (callback) => { Promise.resolve().then(() => callback()); },
      writable: true, configurable: true, enumerable: false,
    });
  }
}
