// provides: HMRClient, HMRContext
// uses: HostFailure, errorToPayload, moduleNamespace
// private: failureOf

// Hot module replacement inside the runtime, with the names and semantics of Vite's HMRClient
// (shared/hmr.ts) and its module-runner handler: `import.meta.hot` is an HMRContext per module,
// keyed by the module's url; the server's payloads (update, full-reload, prune, error, custom)
// are applied one at a time, in arrival order, so two quick saves never interleave.
//
// modrun's runner links records once and never resets them in place (evaluated_modules.js), so
// an update forgets the stale records (the changed modules and the chain up to the accepted
// one, which the server lists under `modrun.invalidated`) and imports the accepted module
// again: a fresh record, a fresh evaluation; importers that were not re-run keep the instance
// they were linked with, as in Vite.
//
// Each payload is answered with a report for the host: what was updated or reloaded, and the
// errors met on the way (as error payloads), since the host, not a console, shows them.

class HMRContext {
  constructor(client, ownerPath, resolveDep) {
    this.client = client;
    this.ownerPath = ownerPath;
    this.resolveDep = resolveDep;
    if (!client.dataMap.has(ownerPath)) client.dataMap.set(ownerPath, {});
    // A module evaluated again gets a new context: the old one's callbacks and listeners go.
    const mod = client.hotModulesMap.get(ownerPath);
    if (mod) mod.callbacks = [];
    client.dropListeners(ownerPath);
    this.newListeners = new Map();
    client.ctxToListenersMap.set(ownerPath, this.newListeners);
  }

  get data() {
    return this.client.dataMap.get(this.ownerPath);
  }

  accept(deps, callback) {
    if (typeof deps === "function" || deps === undefined) {
      this.acceptDeps([this.ownerPath], ([mod]) => deps && deps(mod));
    } else if (typeof deps === "string") {
      this.acceptDeps([this.resolveDep(deps)], ([mod]) => callback && callback(mod));
    } else if (Array.isArray(deps)) {
      this.acceptDeps(deps.map((dep) => this.resolveDep(dep)), callback);
    } else {
      throw new TypeError("invalid hot.accept() usage: give nothing, a callback, a specifier or an array of them");
    }
  }

  // The server decides whether the importers' bindings are all accepted; here it is a self-accept.
  acceptExports(_, callback) {
    this.acceptDeps([this.ownerPath], ([mod]) => callback && callback(mod));
  }

  dispose(callback) {
    this.client.disposeMap.set(this.ownerPath, callback);
  }

  prune(callback) {
    this.client.pruneMap.set(this.ownerPath, callback);
  }

  decline() {}

  invalidate(message) {
    const firstInvalidatedBy = this.client.currentFirstInvalidatedBy || this.ownerPath;
    const data = { path: this.ownerPath, message, firstInvalidatedBy };
    this.client.notifyListeners("vite:invalidate", data);
    this.send("vite:invalidate", data);
  }

  on(event, callback) {
    const add = (map) => {
      const list = map.get(event) || [];
      list.push(callback);
      map.set(event, list);
    };
    add(this.client.customListenersMap);
    add(this.newListeners);
  }

  off(event, callback) {
    const remove = (map) => {
      const list = map.get(event);
      if (!list) return;
      const kept = list.filter((fn) => fn !== callback);
      if (kept.length) map.set(event, kept);
      else map.delete(event);
    };
    remove(this.client.customListenersMap);
    remove(this.newListeners);
  }

  send(event, data) {
    this.client.transport.send({ type: "custom", event, data });
  }

  acceptDeps(deps, callback) {
    const mod = this.client.hotModulesMap.get(this.ownerPath) || { id: this.ownerPath, callbacks: [] };
    mod.callbacks.push({ deps, fn: callback || (() => {}) });
    this.client.hotModulesMap.set(this.ownerPath, mod);
  }
}

class HMRClient {
  constructor(runner, transport) {
    this.runner = runner;
    this.transport = transport;
    this.hotModulesMap = new Map(); // url -> {id, callbacks: [{deps, fn}]}
    this.disposeMap = new Map();
    this.pruneMap = new Map();
    this.dataMap = new Map();
    this.customListenersMap = new Map();
    this.ctxToListenersMap = new Map();
    this.currentFirstInvalidatedBy = undefined;
    this.circularFailure = null; // the file to reload after an update that failed in a cycle
    this.tail = Promise.resolve(); // the queue: each payload waits for the one before it
    this.report = null;
  }

  // The context a module's `import.meta.hot` is, created as the module starts to run (where the
  // server said the module uses it: fetchModule's `modrun.hot`).
  contextFor(record) {
    const resolved = (record.meta && record.meta.resolved) || {};
    return new HMRContext(this, record.url, (dep) => resolved[dep] || dep);
  }

  dropListeners(url) {
    const stale = this.ctxToListenersMap.get(url);
    if (!stale) return;
    for (const [event, staleFns] of stale) {
      const listeners = this.customListenersMap.get(event);
      if (listeners) this.customListenersMap.set(event, listeners.filter((fn) => !staleFns.includes(fn)));
    }
    this.ctxToListenersMap.delete(url);
  }

  // A module that runs again without using import.meta.hot: what its old instance registered goes.
  release(url) {
    if (!this.dataMap.has(url)) return;
    this.dropListeners(url);
    for (const map of [this.hotModulesMap, this.disposeMap, this.pruneMap, this.dataMap]) map.delete(url);
  }

  handle(payload) {
    const run = () => this.apply(payload);
    const result = this.tail.then(run, run);
    this.tail = result.catch(() => {});
    return result;
  }

  async apply(payload) {
    const report = { type: payload.type, updated: [], reloaded: [], pruned: [], errors: [] };
    this.report = report;
    try {
      switch (payload.type) {
        case "connected":
          break;
        case "update":
          await this.notifyListeners("vite:beforeUpdate", payload);
          // Without modrun's list (a payload from elsewhere), the accepted modules alone are stale.
          this.forget((payload.modrun && payload.modrun.invalidated) || payload.updates.map((u) => u.acceptedPath));
          this.circularFailure = null;
          for (const update of payload.updates) await this.queueUpdate(update);
          if (this.circularFailure) {
            // As Vite: an update that failed inside a circular import may have run modules out of
            // their order; reloading the entries that reach it puts the order back.
            await this.fullReload({ type: "full-reload", triggeredBy: this.circularFailure, path: "*" }, report);
          } else {
            await this.notifyListeners("vite:afterUpdate", payload);
          }
          break;
        case "full-reload":
          await this.fullReload(payload, report);
          break;
        case "prune":
          await this.notifyListeners("vite:beforePrune", payload);
          await this.prunePaths(payload.paths);
          report.pruned = payload.paths.slice();
          break;
        case "error":
          await this.notifyListeners("vite:error", payload);
          report.errors.push(payload.err);
          break;
        case "custom":
          await this.notifyListeners(payload.event, payload.data);
          break;
        default:
          throw new TypeError(`unknown HMR payload type '${payload.type}'`);
      }
    } finally {
      this.report = null;
      report.modules = this.runner.evaluatedModules.idToModuleMap.size; // what the store holds now
    }
    return report;
  }

  forget(urls) {
    for (const url of urls) {
      const record = this.runner.evaluatedModules.getModuleByUrl(url);
      if (record) this.runner.forget(record);
    }
  }

  async notifyListeners(event, data) {
    const callbacks = this.customListenersMap.get(event);
    if (callbacks) await Promise.allSettled(callbacks.map((callback) => callback(data)));
  }

  // One update after another, in the order sent: each fetches, then runs its accept callbacks.
  async queueUpdate(update) {
    const apply = await this.fetchUpdate(update);
    if (apply) apply();
  }

  async fetchUpdate(update) {
    const { path, acceptedPath, firstInvalidatedBy, isWithinCircularImport } = update;
    const mod = this.hotModulesMap.get(path);
    if (!mod) return undefined;
    const isSelfUpdate = path === acceptedPath;
    const qualified = mod.callbacks.filter(({ deps }) => deps.includes(acceptedPath));
    let fetched;
    if (isSelfUpdate || qualified.length > 0) {
      const disposer = this.disposeMap.get(acceptedPath);
      try {
        if (disposer) await disposer(this.dataMap.get(acceptedPath));
        fetched = await this.importUpdated(acceptedPath);
      } catch (error) {
        this.fail(error, acceptedPath);
        if (isWithinCircularImport) this.failedInCycle(path);
        return undefined;
      }
    }
    return () => {
      this.currentFirstInvalidatedBy = firstInvalidatedBy;
      try {
        for (const { deps, fn } of qualified) fn(deps.map((dep) => (dep === acceptedPath ? fetched : undefined)));
        this.report.updated.push(isSelfUpdate ? path : `${acceptedPath} via ${path}`);
      } catch (error) {
        this.fail(error, path);
      } finally {
        this.currentFirstInvalidatedBy = undefined;
      }
    };
  }

  async importUpdated(url) {
    let record;
    try {
      record = await this.runner.load(url, null);
    } catch (error) {
      throw new HostFailure("load", error);
    }
    await this.runner.evaluate(record);
    return moduleNamespace(record);
  }

  // The file whose entries reload: the boundary's (still in the store: only the chain below it
  // was forgotten), else every entry.
  failedInCycle(path) {
    const record = this.runner.evaluatedModules.getModuleByUrl(path);
    this.circularFailure = (record && record.file) || path;
    const last = this.report && this.report.errors[this.report.errors.length - 1];
    if (last) last.hmrFallback = "full-reload: the update failed within a circular import";
  }

  async fullReload(payload, report) {
    const runner = this.runner;
    const entries = payload.triggeredBy ? runner.entriesOf(payload.triggeredBy) : runner.allEntries();
    if (entries.size === 0) return;
    await this.notifyListeners("vite:beforeFullReload", payload);
    runner.clearModules();
    for (const url of entries) {
      try {
        await this.importUpdated(url);
        report.reloaded.push(url);
      } catch (error) {
        this.fail(error, url);
      }
    }
  }

  async prunePaths(paths) {
    await Promise.all(paths.map((path) => {
      const disposer = this.disposeMap.get(path);
      return disposer ? disposer(this.dataMap.get(path)) : undefined;
    }));
    for (const path of paths) {
      const prune = this.pruneMap.get(path);
      if (prune) prune(this.dataMap.get(path));
    }
    this.forget(paths);
  }

  fail(error, path) {
    const payload = errorToPayload(failureOf(error));
    payload.hmrPath = path;
    if (this.report) this.report.errors.push(payload);
  }

  clear() {
    this.hotModulesMap.clear();
    this.disposeMap.clear();
    this.pruneMap.clear();
    this.dataMap.clear();
    this.customListenersMap.clear();
    this.ctxToListenersMap.clear();
  }
}

// An error of evaluation is a JS error; one the load phase raised is already a HostFailure.
function failureOf(error) {
  return error instanceof HostFailure ? error : new HostFailure("js", error);
}
