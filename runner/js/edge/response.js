// provides: defineResponse, responseState
// uses: extractBody, defineBodyMixin, headerList, setHeadersGuard, BodyState, utf8Encode
// private: RESPONSES, NULL_BODY_STATUS, REDIRECT_STATUS

// Response (Fetch standard). Ours, over our Headers and body (body.js).

const RESPONSES = new WeakMap();
const NULL_BODY_STATUS = new Set([101, 103, 204, 205, 304]);
const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

function responseState(response) {
  const state = RESPONSES.get(response);
  if (state === undefined) throw new TypeError("Illegal invocation: not a Response");
  return state;
}

function defineResponse(web) {
  const initialize = (state, init, bodyWithType) => {
    const options = init == null ? {} : init;
    if (typeof options !== "object" && typeof options !== "function") throw new TypeError("Response: init must be an object");
    // Web IDL's unsigned short: modulo 2^16, NaN and infinities as 0.
    const status = options.status === undefined ? 200 : ((Math.trunc(Number(options.status)) || 0) % 65536 + 65536) % 65536;
    if (!(status >= 200 && status <= 599)) {
      throw new RangeError(`Response: status ${options.status} is outside the range 200 to 599`);
    }
    const statusText = options.statusText === undefined ? "" : String(options.statusText);
    if (!/^[\t\x20-\x7E\x80-\xFF]*$/.test(statusText)) throw new TypeError(`Response: '${statusText}' is not a valid status text`);
    state.status = status;
    state.statusText = statusText;
    if (options.headers !== undefined) state.headers = new web.Headers(options.headers);
    if (bodyWithType !== null) {
      if (NULL_BODY_STATUS.has(status)) throw new TypeError(`Response: a response with status ${status} cannot have a body`);
      state.body = bodyWithType.body;
      if (bodyWithType.type !== null && !state.headers.has("content-type")) {
        headerList(state.headers).push(["content-type", bodyWithType.type]);
      }
    }
  };
  const fresh = () => ({
    type: "default", url: "", urlList: [], redirected: false, status: 200, statusText: "",
    headers: new web.Headers(), body: null,
  });

  class Response {
    constructor(body = null, init = undefined) {
      const state = fresh();
      RESPONSES.set(this, state);
      initialize(state, init, body === null || body === undefined ? null : extractBody(web, body));
    }

    static error() {
      const response = new Response(null, { status: 200 });
      const state = responseState(response);
      state.type = "error";
      state.status = 0;
      setHeadersGuard(state.headers, "immutable");
      return response;
    }

    static redirect(url, status = 302) {
      let parsed;
      try {
        const base = globalThis.location && typeof globalThis.location.href === "string" ? globalThis.location.href : undefined;
        parsed = new web.URL(String(url), base).href;
      } catch {
        throw new TypeError(`Response.redirect: '${url}' is not a valid URL`);
      }
      const code = Number(status);
      if (!REDIRECT_STATUS.has(code)) throw new RangeError(`Response.redirect: ${status} is not a redirect status`);
      const response = new Response(null, { status: code });
      const state = responseState(response);
      headerList(state.headers).push(["location", parsed]);
      setHeadersGuard(state.headers, "immutable");
      return response;
    }

    static json(data, init = undefined) {
      const text = JSON.stringify(data);
      if (text === undefined) throw new TypeError("Response.json: the data cannot be serialized to JSON");
      const bytes = utf8Encode(text);
      const response = new Response(null, init);
      const state = responseState(response);
      if (NULL_BODY_STATUS.has(state.status)) throw new TypeError(`Response.json: status ${state.status} cannot have a body`);
      state.body = new BodyState(web, null, bytes, bytes.byteLength);
      if (!state.headers.has("content-type")) headerList(state.headers).push(["content-type", "application/json"]);
      return response;
    }

    get type() { return responseState(this).type; }
    get url() {
      const { url } = responseState(this);
      return url.replace(/#.*$/, "");
    }
    get redirected() { return responseState(this).redirected; }
    get status() { return responseState(this).status; }
    get ok() { const { status } = responseState(this); return status >= 200 && status <= 299; }
    get statusText() { return responseState(this).statusText; }
    get headers() { return responseState(this).headers; }

    clone() {
      const state = responseState(this);
      if (state.body !== null && (state.body.used || state.body.locked)) {
        throw new TypeError("Response.clone: the body has already been read");
      }
      const copy = new Response(null);
      const target = responseState(copy);
      Object.assign(target, state, { headers: new web.Headers(state.headers), body: state.body === null ? null : state.body.clone() });
      if (state.type === "error") setHeadersGuard(target.headers, "immutable");
      return copy;
    }
  }

  defineBodyMixin(web, Response.prototype, (response) => responseState(response));
  Object.defineProperty(Response.prototype, Symbol.toStringTag, { value: "Response", configurable: true });
  return { Response };
}
