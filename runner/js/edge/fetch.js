// provides: defineFetch
// uses: requestState, responseState, headerList, BodyState, bytesToBase64, base64ToBytes

// fetch(): the request crosses to the host (the `fetch` capability, runner/capabilities/fetch.py),
// which serves it with the environment's handler, sends it to an allowed origin, or refuses it.
// The body goes whole (read here first) and the answer comes back whole. An abort rejects at once
// with the signal's reason; the host's answer is then dropped.

function defineFetch(web, transport) {
  async function fetch(input, init = undefined) {
    // Made before the first await, so that a failure's stack points at the caller.
    const failure = new TypeError("fetch failed");
    const request = new web.Request(input, init);
    const state = requestState(request);
    const signal = state.signal;
    if (signal.aborted) throw signal.reason;
    const abort = new Promise((resolve, reject) => {
      signal.addEventListener("abort", () => reject(signal.reason), { once: true });
    });
    const body = state.body === null ? null : await Promise.race([state.body.readAll(), abort]);
    const payload = {
      url: state.url, method: state.method, headers: headerList(state.headers).map(([k, v]) => [k, v]),
      body: body === null ? null : bytesToBase64(body), redirect: state.redirect,
    };
    let reply;
    try {
      reply = await Promise.race([transport.invoke("fetch", [payload]), abort]);
    } catch (error) {
      if (signal.aborted && error === signal.reason) throw error;
      failure.message = String(error && error.message ? error.message : error);
      throw failure;
    }
    const bytes = base64ToBytes(reply.body);
    const nullBody = [101, 103, 204, 205, 304].includes(reply.status) || state.method === "HEAD";
    const response = new web.Response(null, { status: reply.status === 0 ? 200 : reply.status, statusText: reply.statusText });
    const target = responseState(response);
    for (const [name, value] of reply.headers) target.headers.append(name, value);
    target.type = "basic";
    target.url = reply.url;
    target.redirected = Boolean(reply.redirected);
    target.body = nullBody ? null : new BodyState(web, null, bytes, bytes.byteLength);
    return response;
  }
  return { fetch };
}
