// provides: defineHeaders, headerList, setHeadersGuard, HTTP_TOKEN
// uses: toByteString
// private: HEADERS, normalizeValue, checkName, checkValue

// Headers (Fetch standard). Ours: headers-polyfill, the npm candidate, ignores invalid names and
// values instead of throwing, sorts with localeCompare, joins Set-Cookie and splits it again, and
// has no guard (Response.error().headers must be immutable). A header list is kept in order with
// lowercase names; iteration is the spec's sort-and-combine.

const HEADERS = new WeakMap(); // headers -> {list: [[name, value]], guard}
const HTTP_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function normalizeValue(value) {
  return value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, "");
}

function checkName(name) {
  const text = toByteString(name, "Headers");
  if (!HTTP_TOKEN.test(text)) throw new TypeError(`Headers: '${text}' is not a valid header name`);
  return text.toLowerCase();
}

function checkValue(value) {
  const text = normalizeValue(toByteString(value, "Headers"));
  if (/[\0\r\n]/.test(text)) throw new TypeError(`Headers: ${JSON.stringify(text)} is not a valid header value`);
  return text;
}

// The [[name, value]] list of a Headers (names lowercase, in insertion order).
function headerList(headers) {
  return HEADERS.get(headers).list;
}

function setHeadersGuard(headers, guard) {
  HEADERS.get(headers).guard = guard;
}

function defineHeaders() {
  const state = (headers) => {
    const found = HEADERS.get(headers);
    if (found === undefined) throw new TypeError("Illegal invocation: not a Headers");
    return found;
  };
  const mutable = (headers) => {
    const found = state(headers);
    if (found.guard === "immutable") throw new TypeError("Headers: these headers are immutable");
    return found;
  };

  const fill = (headers, init) => {
    if (init === null || (typeof init !== "object" && typeof init !== "function")) {
      throw new TypeError("Headers: init must be a sequence of pairs or a record");
    }
    const iterator = init[Symbol.iterator];
    if (iterator !== undefined && iterator !== null) {
      if (typeof iterator !== "function") throw new TypeError("Headers: init's @@iterator is not a function");
      for (const pair of init) {
        if (pair === null || typeof pair !== "object" || typeof pair[Symbol.iterator] !== "function") {
          throw new TypeError("Headers: each item of init must be a [name, value] pair");
        }
        const items = [...pair];
        if (items.length !== 2) throw new TypeError(`Headers: a pair must have 2 items, not ${items.length}`);
        headers.append(items[0], items[1]);
      }
      return;
    }
    // WebIDL's record<ByteString, ByteString>: each key is converted before its value is read,
    // and the whole record before anything is appended.
    const record = [];
    for (const key of Reflect.ownKeys(init)) {
      const descriptor = Reflect.getOwnPropertyDescriptor(init, key);
      if (descriptor === undefined || !descriptor.enumerable) continue;
      if (typeof key === "symbol") throw new TypeError("Headers: a record key cannot be a Symbol");
      const name = toByteString(key, "Headers");
      record.push([name, toByteString(init[key], "Headers")]);
    }
    for (const [name, value] of record) headers.append(name, value);
  };

  class Headers {
    constructor(init = undefined) {
      HEADERS.set(this, { list: [], guard: "none" });
      if (init !== undefined) fill(this, init);
    }

    append(name, value) {
      const key = checkName(name);
      const text = checkValue(value);
      mutable(this).list.push([key, text]);
    }

    delete(name) {
      const key = checkName(name);
      const found = mutable(this);
      found.list = found.list.filter(([k]) => k !== key);
    }

    get(name) {
      const key = checkName(name);
      const values = state(this).list.filter(([k]) => k === key).map(([, v]) => v);
      return values.length ? values.join(", ") : null;
    }

    getSetCookie() {
      return state(this).list.filter(([k]) => k === "set-cookie").map(([, v]) => v);
    }

    has(name) {
      const key = checkName(name);
      return state(this).list.some(([k]) => k === key);
    }

    set(name, value) {
      const key = checkName(name);
      const text = checkValue(value);
      const found = mutable(this);
      const at = found.list.findIndex(([k]) => k === key);
      if (at < 0) {
        found.list.push([key, text]);
        return;
      }
      found.list[at] = [key, text];
      found.list = found.list.filter(([k], i) => k !== key || i === at);
    }

    forEach(callback, thisArg = undefined) {
      if (typeof callback !== "function") throw new TypeError("Headers.forEach: the callback is not a function");
      const list = sortAndCombine(state(this).list);
      for (let i = 0; i < list.length; i++) callback.call(thisArg, list[i][1], list[i][0], this);
    }

    entries() { return iterate(this, "key+value"); }
    keys() { return iterate(this, "key"); }
    values() { return iterate(this, "value"); }
  }
  Object.defineProperty(Headers.prototype, Symbol.iterator,
    { value: Headers.prototype.entries, writable: true, configurable: true });

  // WebIDL's pair iterator: each next() sorts and combines the list as it is now and takes the
  // pair at the iterator's index, so changes made while iterating show (or skip) as the spec says.
  const ITERATORS = new WeakMap(); // iterator -> {headers, kind, index}
  const iteratorPrototype = Object.create(Object.getPrototypeOf(Object.getPrototypeOf([][Symbol.iterator]())));
  Object.defineProperty(iteratorPrototype, "next", {
    value: function next() {
      const found = ITERATORS.get(this);
      if (found === undefined) throw new TypeError("Illegal invocation: not a Headers Iterator");
      const pairs = sortAndCombine(state(found.headers).list);
      if (found.index >= pairs.length) return { value: undefined, done: true };
      const [name, value] = pairs[found.index++];
      return { value: found.kind === "key" ? name : found.kind === "value" ? value : [name, value], done: false };
    },
    writable: true, enumerable: true, configurable: true,
  });
  Object.defineProperty(iteratorPrototype, Symbol.toStringTag, { value: "Headers Iterator", configurable: true });
  const iterate = (headers, kind) => {
    state(headers);
    const iterator = Object.create(iteratorPrototype);
    ITERATORS.set(iterator, { headers, kind, index: 0 });
    return iterator;
  };

  function sortAndCombine(list) {
    const names = [...new Set(list.map(([k]) => k))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const out = [];
    for (const name of names) {
      const values = list.filter(([k]) => k === name).map(([, v]) => v);
      if (name === "set-cookie") for (const value of values) out.push([name, value]);
      else out.push([name, values.join(", ")]);
    }
    return out;
  }

  Object.defineProperty(Headers.prototype, Symbol.toStringTag, { value: "Headers", configurable: true });
  return { Headers };
}
