// provides: BodyState, extractBody, defineBodyMixin
// uses: isBufferSource, bytesOf, concatBytes, utf8Encode, utf8Decode, blobBytes, formDataEntries
// private: latin1, fromLatin1, parseMultipart, serializeMultipart, escapeMultipart, mimeEssence, randomBoundary

// The body of a Request or Response (Fetch standard, "body mixin"). Ours: no engine-neutral
// implementation exists (undici and node-fetch are Node's). A body is a ReadableStream, created
// only when a program asks for `.body`: one made from bytes keeps the bytes, so reading it whole
// (text(), json()…) copies nothing through a stream. `web` is the profile's own interfaces.

class BodyState {
  constructor(web, stream, source, length) {
    this.web = web;
    this.streamValue = stream; // a ReadableStream, or null until asked for
    this.source = source; // the bytes, when known (a body made from bytes, text, a blob…)
    this.length = length;
    this.consumed = false;
  }

  get stream() {
    if (this.streamValue === null) {
      const bytes = this.consumed ? new Uint8Array(0) : this.source;
      this.streamValue = new this.web.ReadableStream({
        type: "bytes",
        start(controller) {
          if (bytes.byteLength) controller.enqueue(bytes.slice());
          controller.close();
        },
      });
      // Bytes read whole without a stream: the stream asked for afterwards is as the spec's would
      // be, locked to the reader that read it and disturbed.
      if (this.consumed) this.streamValue.getReader().read();
    }
    return this.streamValue;
  }

  // web-streams-polyfill marks a stream read from as disturbed (the spec's [[disturbed]]).
  get used() {
    return this.consumed || (this.streamValue !== null && this.streamValue._disturbed === true);
  }

  get locked() {
    return this.streamValue !== null && this.streamValue.locked;
  }

  // All of the body's bytes; marks it used.
  async readAll() {
    if (this.used) throw new TypeError("Body is unusable: it has already been read");
    if (this.locked) throw new TypeError("Body is unusable: its stream is locked to a reader");
    if (this.streamValue === null) {
      this.consumed = true;
      return this.source.slice();
    }
    const reader = this.streamValue.getReader();
    this.consumed = true;
    const chunks = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!(value instanceof Uint8Array)) throw new TypeError("Body: a chunk of the body stream is not a Uint8Array");
      chunks.push(value);
    }
    return concatBytes(chunks);
  }

  // A copy for clone(): the stream is teed (or the bytes shared: they never change).
  clone() {
    if (this.streamValue === null) return new BodyState(this.web, null, this.source, this.length);
    const [first, second] = this.streamValue.tee();
    this.streamValue = first;
    return new BodyState(this.web, second, null, this.length);
  }
}

// Fetch's "extract a body": {body: BodyState, type: Content-Type or null}.
function extractBody(web, object) {
  let source = null;
  let type = null;
  if (object instanceof web.ReadableStream) {
    if (object.locked || object._disturbed === true) throw new TypeError("Body: the ReadableStream is locked or has been read");
    return { body: new BodyState(web, object, null, null), type: null };
  }
  if (object instanceof web.Blob) {
    source = blobBytes(object);
    if (object.type) type = object.type;
  } else if (isBufferSource(object)) {
    source = bytesOf(object);
  } else if (object instanceof web.FormData) {
    const boundary = randomBoundary(web);
    source = serializeMultipart(web, formDataEntries(object), boundary);
    type = `multipart/form-data; boundary=${boundary}`;
  } else if (object instanceof web.URLSearchParams) {
    source = utf8Encode(String(object));
    type = "application/x-www-form-urlencoded;charset=UTF-8";
  } else {
    source = utf8Encode(String(object));
    type = "text/plain;charset=UTF-8";
  }
  return { body: new BodyState(web, null, source, source.byteLength), type };
}

// The body methods and attributes on `prototype`; `stateOf(object)` is {body, headers}.
function defineBodyMixin(web, prototype, stateOf) {
  const consume = async (object, convert) => {
    const { body, headers } = stateOf(object);
    const bytes = body === null ? new Uint8Array(0) : await body.readAll();
    return convert(bytes, headers);
  };
  const methods = {
    arrayBuffer() { return consume(this, (bytes) => bytes.buffer); },
    bytes() { return consume(this, (bytes) => bytes); },
    text() { return consume(this, (bytes) => utf8Decode(bytes)); },
    json() { return consume(this, (bytes) => JSON.parse(utf8Decode(bytes))); },
    blob() {
      return consume(this, (bytes, headers) => new web.Blob([bytes], { type: headers.get("content-type") || "" }));
    },
    formData() {
      return consume(this, (bytes, headers) => {
        const type = headers.get("content-type") || "";
        const essence = mimeEssence(type);
        if (essence === "multipart/form-data") {
          const match = /;\s*boundary=(?:"([^"]*)"|([^;\s]*))/i.exec(type);
          const boundary = match && (match[1] !== undefined ? match[1] : match[2]);
          if (!boundary) throw new TypeError("Body.formData: the multipart/form-data Content-Type has no boundary");
          return parseMultipart(web, bytes, boundary);
        }
        if (essence === "application/x-www-form-urlencoded") {
          const form = new web.FormData();
          for (const [name, value] of new web.URLSearchParams(utf8Decode(bytes))) form.append(name, value);
          return form;
        }
        throw new TypeError(`Body.formData: cannot parse a body of type '${type}' as form data`);
      });
    },
  };
  for (const [name, method] of Object.entries(methods)) {
    Object.defineProperty(prototype, name, { value: method, writable: true, configurable: true, enumerable: true });
  }
  Object.defineProperty(prototype, "body", {
    configurable: true, enumerable: true,
    get() { const { body } = stateOf(this); return body === null ? null : body.stream; },
  });
  Object.defineProperty(prototype, "bodyUsed", {
    configurable: true, enumerable: true,
    get() { const { body } = stateOf(this); return body !== null && body.used; },
  });
}

function mimeEssence(type) {
  return type.split(";")[0].trim().toLowerCase();
}

function latin1(bytes) {
  let out = "";
  for (let i = 0; i < bytes.length; i += 8192) out += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  return out;
}

function fromLatin1(text) {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

function randomBoundary(web) {
  let hex = "";
  const bytes = web.randomBytes(12);
  for (const byte of bytes) hex += byte.toString(16).padStart(2, "0");
  return `----modrun-${hex}`;
}

function escapeMultipart(text) {
  return text.replace(/\n/g, "%0A").replace(/\r/g, "%0D").replace(/"/g, "%22");
}

function serializeMultipart(web, entries, boundary) {
  const chunks = [];
  for (const [name, value] of entries) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${escapeMultipart(name)}"`;
    if (typeof value === "string") {
      chunks.push(utf8Encode(`${head}\r\n\r\n${value.replace(/\r(?!\n)|(?<!\r)\n/g, "\r\n")}\r\n`));
    } else {
      head += `; filename="${escapeMultipart(value.name)}"\r\nContent-Type: ${value.type || "application/octet-stream"}\r\n\r\n`;
      chunks.push(utf8Encode(head), blobBytes(value), utf8Encode("\r\n"));
    }
  }
  chunks.push(utf8Encode(`--${boundary}--\r\n`));
  return concatBytes(chunks);
}

function parseMultipart(web, bytes, boundary) {
  const text = latin1(bytes);
  const delimiter = `--${boundary}`;
  const form = new web.FormData();
  let at = text.indexOf(delimiter);
  if (at < 0) throw new TypeError("Body.formData: the multipart body has no boundary line");
  for (;;) {
    at += delimiter.length;
    if (text.startsWith("--", at)) return form;
    if (!text.startsWith("\r\n", at)) throw new TypeError("Body.formData: a malformed multipart boundary line");
    at += 2;
    const headersEnd = text.indexOf("\r\n\r\n", at);
    if (headersEnd < 0) throw new TypeError("Body.formData: a multipart part without an end to its headers");
    const headers = text.slice(at, headersEnd).split("\r\n");
    const next = text.indexOf(`\r\n${delimiter}`, headersEnd + 4);
    if (next < 0) throw new TypeError("Body.formData: a multipart part without a closing boundary");
    const content = text.slice(headersEnd + 4, next);
    let name = null;
    let filename = null;
    let type = "";
    for (const line of headers) {
      const colon = line.indexOf(":");
      const key = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (key === "content-disposition") {
        const nameMatch = /(?:^|;)\s*name="([^"]*)"/i.exec(value);
        const fileMatch = /;\s*filename="([^"]*)"/i.exec(value);
        if (nameMatch) name = utf8Decode(fromLatin1(nameMatch[1]));
        if (fileMatch) filename = utf8Decode(fromLatin1(fileMatch[1]));
      } else if (key === "content-type") {
        type = value;
      }
    }
    if (name === null) throw new TypeError("Body.formData: a multipart part without a name");
    if (filename !== null) form.append(name, new web.File([fromLatin1(content)], filename, { type }));
    else form.append(name, utf8Decode(fromLatin1(content)));
    at = next + 2;
  }
}
