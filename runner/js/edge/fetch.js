// provides: defineFetch
// uses: requestState, responseState, headerList, BodyState, bytesToBase64, base64ToBytes, utf8Encode
// private: dataURL

// fetch(): the request crosses to the host (the `fetch` capability, runner/capabilities/fetch.py),
// which serves it with the environment's handler, sends it to an allowed origin, or refuses it.
// The body goes whole (read here first) and the answer comes back whole. An abort rejects at once
// with the signal's reason; the host's answer is then dropped. A `data:` URL is answered here, as
// the Fetch standard's scheme fetch does, without the host.

// Fetch's data: URL processor: {type, bytes}, or null when the URL is not a valid data: URL.
function dataURL(url) {
  const text = url.slice("data:".length).replace(/#.*$/s, "");
  const comma = text.indexOf(",");
  if (comma < 0) return null;
  let type = text.slice(0, comma).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, "");
  const encoded = text.slice(comma + 1);
  const bytes = [];
  for (let i = 0; i < encoded.length; i++) {
    const hex = encoded.slice(i + 1, i + 3);
    if (encoded[i] === "%" && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(...utf8Encode(encoded[i]));
    }
  }
  let body = new Uint8Array(bytes);
  const base64 = /;[\t\n\f\r ]*base64[\t\n\f\r ]*$/i.exec(type);
  if (base64) {
    type = type.slice(0, base64.index);
    const plain = String.fromCharCode(...body).replace(/[\t\n\f\r ]/g, "").replace(/==?$/, "");
    if (plain.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(plain)) return null;
    body = base64ToBytes(plain + "=".repeat((4 - (plain.length % 4)) % 4));
  }
  if (type.startsWith(";")) type = `text/plain${type}`;
  return { type: /^[^\/;\s]+\/[^\/;\s]+/.test(type) ? type : "text/plain;charset=US-ASCII", bytes: body };
}

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
    if (state.url.startsWith("data:")) {
      const data = dataURL(state.url);
      if (data === null) {
        failure.message = `fetch failed: ${state.url}: not a valid data: URL`;
        throw failure;
      }
      const response = new web.Response(null, { status: 200, statusText: "OK", headers: { "content-type": data.type } });
      const target = responseState(response);
      target.type = "basic";
      target.url = state.url;
      target.body = state.method === "HEAD" ? null : new BodyState(web, null, data.bytes, data.bytes.byteLength);
      return response;
    }
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
