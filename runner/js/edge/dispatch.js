// provides: defineDispatch
// uses: requestState, responseState, headerList, bytesToBase64, base64ToBytes, errorToPayload

// Fetch-handler dispatch (Environment.dispatch_fetch, runner/dispatch.py): the host's request becomes
// a Request, the module's handler is called as Workers call it, `fetch(request, env, ctx)`, and the
// Response goes back as its head plus its body: whole when its bytes are known, else as a stream the
// host reads one chunk at a time (`readBody`), each chunk crossing as soon as it is enqueued.
// Promises given to `ctx.waitUntil` are kept, per request, until the host asks for them to settle
// (`settleWaits`).

function defineDispatch(web) {
  const readers = new Map(); // response bodies being streamed to the host, by id
  let lastReader = 0;
  const waiting = new Map(); // the ctx.waitUntil promises of each request not yet settled, by the host's request id

  // `export default { fetch }` (Workers, hono's `export default app`) or a default-exported function.
  const handlerOf = (exported, url) => {
    if (exported !== null && (typeof exported === "object" || typeof exported === "function") &&
        typeof exported.fetch === "function") {
      return [exported, exported.fetch];
    }
    if (typeof exported === "function") return [undefined, exported];
    throw new TypeError(`${url} has no fetch handler: its default export must be an object with a fetch(request, ` +
      `env, ctx) method (export default { fetch }) or a function, not ${kindOf(exported)}`);
  };

  const kindOf = (value) => {
    if (value === null) return "null";
    if (typeof value !== "object") return typeof value === "undefined" ? "undefined" : `a ${typeof value}`;
    const name = value.constructor && typeof value.constructor.name === "string" ? value.constructor.name : "";
    if (name === "" || name === "Object") return "a plain object";
    return /^[AEIOU]/.test(name) ? `an ${name}` : `a ${name}`;
  };

  const context = (id) => Object.freeze({
    waitUntil(promise) {
      const settled = Promise.resolve(promise);
      settled.then(undefined, () => {}); // reported by settleWaits, not as an unhandled rejection
      if (!waiting.has(id)) waiting.set(id, []);
      waiting.get(id).push(settled);
    },
    // Workers forward the request to the origin when the handler throws; there is no origin here.
    passThroughOnException() {},
  });

  return {
    async fetch(exported, url, payload, env) {
      const [holder, handler] = handlerOf(exported, url);
      const init = { method: payload.method };
      if (payload.body !== null) init.body = base64ToBytes(payload.body);
      const request = new web.Request(payload.url, init);
      // Headers as the host received them (Cookie and Host included), as a Workers runtime builds them.
      const list = headerList(requestState(request).headers);
      for (const [name, value] of payload.headers) list.push([name, value]);
      const response = await handler.call(holder, request, env, context(payload.id));
      let state;
      try {
        state = responseState(response);
      } catch {
        throw new TypeError(`the fetch handler of ${url} returned ${kindOf(response)}, not a Response`);
      }
      const head = {
        status: state.status, statusText: state.statusText, waiting: waiting.has(payload.id),
        headers: headerList(state.headers).map(([name, value]) => [name, value]), body: null, stream: null,
      };
      const body = state.body;
      if (body === null) return head;
      if (body.used || body.locked) throw new TypeError(`the fetch handler of ${url} returned a Response whose body has already been read`);
      if (body.streamValue === null) {
        body.consumed = true;
        head.body = bytesToBase64(body.source);
      } else {
        head.stream = ++lastReader;
        readers.set(head.stream, body.stream.getReader());
      }
      return head;
    },

    // The next chunk of a streamed body: {chunk} (base64), or {done: true} at its end.
    async readBody(id) {
      const reader = readers.get(id);
      if (reader === undefined) throw new Error(`no response body ${id} is being read`);
      let next;
      try {
        next = await reader.read();
      } catch (error) {
        readers.delete(id);
        throw error;
      }
      if (next.done) {
        readers.delete(id);
        return { done: true };
      }
      if (!(next.value instanceof Uint8Array)) {
        readers.delete(id);
        const error = new TypeError(`a chunk of the response body is ${kindOf(next.value)}, not a Uint8Array ` +
          "(encode text with TextEncoder)");
        reader.cancel(error).then(undefined, () => {});
        throw error;
      }
      return { chunk: bytesToBase64(next.value) };
    },

    // The host stopped reading (its client went away): the stream is cancelled, as a runtime does.
    cancelBody(id) {
      const reader = readers.get(id);
      readers.delete(id);
      if (reader !== undefined) reader.cancel(new Error("the client stopped reading the response")).then(undefined, () => {});
      return null;
    },

    // Waits for every ctx.waitUntil promise of a request, also those added meanwhile; answers the rejections.
    async settleWaits(id) {
      const errors = [];
      for (let batch = waiting.get(id); batch !== undefined; batch = waiting.get(id)) {
        waiting.delete(id);
        for (const outcome of await Promise.allSettled(batch)) {
          if (outcome.status === "rejected") errors.push(errorToPayload(outcome.reason, "js"));
        }
      }
      return errors;
    },
  };
}
