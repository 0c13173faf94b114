// provides: defineRequest, requestState
// uses: extractBody, defineBodyMixin, headerList, setHeadersGuard, toByteString, HTTP_TOKEN
// private: REQUESTS, FORBIDDEN_METHODS, NORMALIZED_METHODS, ENUMS

// Request (Fetch standard). Ours, over our Headers and body (body.js). What a server-side runtime
// has no use for (a window, CORS preflights, the HTTP cache) is kept as the spec's plain values.

const REQUESTS = new WeakMap();
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);
const NORMALIZED_METHODS = new Set(["DELETE", "GET", "HEAD", "OPTIONS", "POST", "PUT"]);
const ENUMS = {
  mode: ["navigate", "same-origin", "no-cors", "cors"],
  credentials: ["omit", "same-origin", "include"],
  cache: ["default", "no-store", "reload", "no-cache", "force-cache", "only-if-cached"],
  redirect: ["follow", "error", "manual"],
  referrerPolicy: ["", "no-referrer", "no-referrer-when-downgrade", "same-origin", "origin", "strict-origin",
    "origin-when-cross-origin", "strict-origin-when-cross-origin", "unsafe-url"],
  duplex: ["half"],
  priority: ["high", "low", "auto"],
};

function requestState(request) {
  const state = REQUESTS.get(request);
  if (state === undefined) throw new TypeError("Illegal invocation: not a Request");
  return state;
}

function defineRequest(web) {
  const parseURL = (input) => {
    const base = globalThis.location && typeof globalThis.location.href === "string" ? globalThis.location.href : undefined;
    let url;
    try {
      url = new web.URL(input, base);
    } catch {
      throw new TypeError(`Request: '${input}' is not a valid URL${base ? "" : " (relative URLs need a base: there is none here)"}`);
    }
    if (url.username || url.password) throw new TypeError(`Request: '${input}' has credentials, which a Request URL may not`);
    return url.href;
  };
  const enumValue = (key, value) => {
    const text = String(value);
    if (!ENUMS[key].includes(text)) throw new TypeError(`Request: '${text}' is not a valid value for ${key}`);
    return text;
  };

  class Request {
    constructor(input, init = undefined) {
      if (arguments.length < 1) throw new TypeError("Request: 1 argument required, but only 0 present");
      if (init !== undefined && init !== null && typeof init !== "object" && typeof init !== "function") {
        throw new TypeError("Request: init must be an object");
      }
      const options = init == null ? {} : init;
      const from = input instanceof Request ? requestState(input) : null;
      const state = {
        url: from ? from.url : parseURL(String(input)),
        method: from ? from.method : "GET",
        headers: null,
        body: from ? from.body : null,
        signal: null,
        mode: from ? from.mode : "cors",
        credentials: from ? from.credentials : "same-origin",
        cache: from ? from.cache : "default",
        redirect: from ? from.redirect : "follow",
        referrer: from ? from.referrer : "about:client",
        referrerPolicy: from ? from.referrerPolicy : "",
        integrity: from ? from.integrity : "",
        keepalive: from ? from.keepalive : false,
        duplex: "half",
      };
      const has = (key) => options[key] !== undefined;
      if (options.window !== undefined && options.window !== null) throw new TypeError("Request: init.window must be null");
      if (has("referrer")) {
        const referrer = String(options.referrer);
        state.referrer = referrer === "" ? "" : (() => {
          try { return new web.URL(referrer).href; } catch { throw new TypeError(`Request: '${referrer}' is not a valid referrer`); }
        })();
      }
      for (const key of ["mode", "credentials", "cache", "redirect", "referrerPolicy"]) {
        if (has(key)) state[key] = enumValue(key, options[key]);
      }
      if (state.mode === "navigate") {
        if (has("mode")) throw new TypeError("Request: mode 'navigate' cannot be set by scripts");
        state.mode = "same-origin";
      }
      if (state.cache === "only-if-cached" && state.mode !== "same-origin") {
        throw new TypeError("Request: cache 'only-if-cached' needs mode 'same-origin'");
      }
      if (has("integrity")) state.integrity = String(options.integrity);
      if (has("keepalive")) state.keepalive = Boolean(options.keepalive);
      if (has("duplex")) enumValue("duplex", options.duplex);
      if (has("priority")) enumValue("priority", options.priority);
      if (has("method")) {
        const method = toByteString(options.method, "Request");
        if (!HTTP_TOKEN.test(method)) throw new TypeError(`Request: '${method}' is not a valid method`);
        const upper = method.toUpperCase();
        if (FORBIDDEN_METHODS.has(upper)) throw new TypeError(`Request: the method '${method}' is forbidden`);
        state.method = NORMALIZED_METHODS.has(upper) ? upper : method;
      }
      if (state.mode === "no-cors" && !["GET", "HEAD", "POST"].includes(state.method)) {
        throw new TypeError(`Request: mode 'no-cors' allows only GET, HEAD and POST, not ${state.method}`);
      }

      const controller = new web.AbortController();
      state.signal = controller.signal;
      const parentSignal = has("signal") ? options.signal : from ? from.signal : null;
      if (options.signal !== undefined && options.signal !== null && !(options.signal instanceof web.AbortSignal)) {
        throw new TypeError("Request: init.signal must be an AbortSignal");
      }
      if (parentSignal) {
        state.signal = web.AbortSignal.any([parentSignal]);
      }

      state.headers = new web.Headers(has("headers") ? options.headers : from ? from.headers : undefined);
      if (state.mode === "no-cors") setHeadersGuard(state.headers, "request-no-cors");

      const inputBody = from ? from.body : null;
      if ((has("body") && options.body !== null) || inputBody !== null) {
        if (state.method === "GET" || state.method === "HEAD") {
          throw new TypeError(`Request: a ${state.method} request cannot have a body`);
        }
      }
      if (has("body") && options.body !== null) {
        const { body, type } = extractBody(web, options.body);
        if (body.source === null && options.duplex !== "half") {
          throw new TypeError("Request: a ReadableStream body needs init.duplex set to 'half'");
        }
        if (body.source === null && state.keepalive) throw new TypeError("Request: keepalive cannot have a stream body");
        state.body = body;
        if (type !== null && !state.headers.has("content-type")) headerList(state.headers).push(["content-type", type]);
      } else if (has("body")) {
        state.body = null;
      }
      if (from && from.body !== null && (!has("body") || options.body === null) && state.body === from.body) {
        if (from.body.used || from.body.locked) throw new TypeError("Request: the input Request's body has already been read");
        // The new request takes the body over: the old one is disturbed.
        const moved = from.body;
        state.body = moved.clone();
        moved.consumed = true;
      }
      REQUESTS.set(this, state);
    }

    get method() { return requestState(this).method; }
    get url() { return requestState(this).url; }
    get headers() { return requestState(this).headers; }
    get destination() { requestState(this); return ""; }
    get referrer() {
      const { referrer } = requestState(this);
      return referrer === "about:client" ? "about:client" : referrer;
    }
    get referrerPolicy() { return requestState(this).referrerPolicy; }
    get mode() { return requestState(this).mode; }
    get credentials() { return requestState(this).credentials; }
    get cache() { return requestState(this).cache; }
    get redirect() { return requestState(this).redirect; }
    get integrity() { return requestState(this).integrity; }
    get keepalive() { return requestState(this).keepalive; }
    get isReloadNavigation() { requestState(this); return false; }
    get isHistoryNavigation() { requestState(this); return false; }
    get signal() { return requestState(this).signal; }
    get duplex() { requestState(this); return "half"; }

    clone() {
      const state = requestState(this);
      if (state.body !== null && (state.body.used || state.body.locked)) {
        throw new TypeError("Request.clone: the body has already been read");
      }
      const copy = new Request(this, { body: null });
      const target = requestState(copy);
      target.body = state.body === null ? null : state.body.clone();
      target.headers = new web.Headers(state.headers);
      target.signal = web.AbortSignal.any([state.signal]);
      return copy;
    }
  }

  defineBodyMixin(web, Request.prototype, (request) => requestState(request));
  Object.defineProperty(Request.prototype, Symbol.toStringTag, { value: "Request", configurable: true });
  return { Request };
}
