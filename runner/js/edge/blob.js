// provides: defineBlob, blobBytes
// uses: isBufferSource, bytesOf, concatBytes, utf8Encode, utf8Decode, toUSVString
// private: BLOB_DATA, blobData, blobType

// Blob and File (File API). Ours: the npm implementations are Node's (fetch-blob imports
// node:process and node:stream/web at its top level) or not spec-shaped (@web-std/blob keeps the
// parts it was given, so changing them later changes the blob). A blob's bytes are copied once,
// when it is made, and never change; `stream()` reads them through a byte stream.

const BLOB_DATA = new WeakMap(); // blob -> {bytes, type}

function blobData(blob) {
  const data = BLOB_DATA.get(blob);
  if (data === undefined) throw new TypeError("Illegal invocation: not a Blob");
  return data;
}

// The bytes of a Blob (or File) this profile made.
function blobBytes(blob) {
  return blobData(blob).bytes;
}

function blobType(type) {
  const text = type === undefined ? "" : String(type);
  return /[^\u0020-\u007E]/.test(text) ? "" : text.toLowerCase();
}

function defineBlob(streams) {
  const partBytes = (part, endings) => {
    if (isBufferSource(part)) return bytesOf(part);
    if (part instanceof Blob) return blobBytes(part);
    let text = String(part); // already a USVString
    if (endings === "native") text = text.replace(/\r\n|\r/g, "\n");
    return utf8Encode(text);
  };

  class Blob {
    constructor(blobParts = undefined, options = undefined) {
      if (blobParts !== undefined && (blobParts === null || (typeof blobParts !== "object" && typeof blobParts !== "function"))) {
        throw new TypeError("Blob: the blobParts argument must be a sequence (an iterable object)");
      }
      if (blobParts !== undefined && typeof blobParts[Symbol.iterator] !== "function") {
        throw new TypeError("Blob: the blobParts argument must be a sequence (an iterable object)");
      }
      if (options !== undefined && options !== null && typeof options !== "object" && typeof options !== "function") {
        throw new TypeError("Blob: the options argument must be an object");
      }
      // Web IDL converts each item as the iteration reaches it (a part's toString can change the
      // array still being iterated); strings are made bytes once `endings` is known.
      const parts = [];
      if (blobParts !== undefined) {
        for (const part of blobParts) parts.push(isBufferSource(part) || part instanceof Blob ? part : toUSVString(part));
      }
      const endingsValue = options == null ? undefined : options.endings;
      const typeValue = options == null ? undefined : options.type;
      const endings = endingsValue === undefined ? "transparent" : String(endingsValue);
      if (endings !== "transparent" && endings !== "native") {
        throw new TypeError(`Blob: endings must be 'transparent' or 'native', not '${endings}'`);
      }
      const type = blobType(typeValue);
      const chunks = parts.map((part) => partBytes(part, endings));
      BLOB_DATA.set(this, { bytes: concatBytes(chunks), type });
    }

    get size() { return blobBytes(this).byteLength; }
    get type() { return blobData(this).type; }

    slice(start = undefined, end = undefined, contentType = undefined) {
      const bytes = blobBytes(this);
      const size = bytes.byteLength;
      const clamp = (value, fallback) => {
        if (value === undefined) return fallback;
        const n = Math.trunc(Number(value)) || 0;
        return n < 0 ? Math.max(size + n, 0) : Math.min(n, size);
      };
      const from = clamp(start, 0);
      const to = clamp(end, size);
      const blob = new Blob([], { type: contentType === undefined ? "" : contentType });
      blobData(blob).bytes = bytes.slice(from, Math.max(from, to));
      return blob;
    }

    stream() {
      const bytes = blobBytes(this);
      let offset = 0;
      return new streams.ReadableStream({
        type: "bytes",
        pull(controller) {
          if (offset >= bytes.byteLength) {
            controller.close();
            if (controller.byobRequest) controller.byobRequest.respond(0);
            return;
          }
          const size = Math.min(65536, bytes.byteLength - offset);
          controller.enqueue(bytes.slice(offset, offset + size));
          offset += size;
        },
      });
    }

    async text() { return utf8Decode(blobBytes(this)); }
    async arrayBuffer() { return blobBytes(this).slice().buffer; }
    async bytes() { return blobBytes(this).slice(); }
  }

  class File extends Blob {
    #name; #lastModified;
    constructor(fileBits, fileName, options = undefined) {
      if (arguments.length < 2) throw new TypeError(`File: 2 arguments required, but only ${arguments.length} present`);
      super(fileBits, options);
      this.#name = toUSVString(fileName);
      const lastModified = options == null ? undefined : options.lastModified;
      this.#lastModified = lastModified === undefined ? Date.now() : Number(BigInt.asIntN(64, BigInt(Math.trunc(Number(lastModified)) || 0)));
    }
    get name() { return this.#name; }
    get lastModified() { return this.#lastModified; }
    get webkitRelativePath() { return ""; }
  }

  Object.defineProperty(Blob.prototype, Symbol.toStringTag, { value: "Blob", configurable: true });
  Object.defineProperty(File.prototype, Symbol.toStringTag, { value: "File", configurable: true });
  return { Blob, File };
}
