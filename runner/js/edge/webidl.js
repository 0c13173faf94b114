// provides: illegalConstructor, toUSVString, toByteString, bytesOf, isBufferSource, concatBytes, utf8Encode, utf8Decode, ILLEGAL, bytesToBase64, base64ToBytes
// uses: loadUnit

// The Web IDL conversions the edge profile's own interfaces share.

// Passed by the profile to constructors that scripts may not call (AbortSignal, CryptoKey…).
const ILLEGAL = Symbol("modrun.internal");

function illegalConstructor(token, name) {
  if (token !== ILLEGAL) throw new TypeError(`Illegal constructor: ${name} cannot be constructed by scripts`);
}

function toUSVString(value) {
  if (typeof value === "symbol") throw new TypeError("Cannot convert a Symbol value to a string");
  return String(value).toWellFormed();
}

function toByteString(value, what) {
  if (typeof value === "symbol") throw new TypeError("Cannot convert a Symbol value to a string");
  const text = String(value);
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 255) throw new TypeError(`${what}: '${text}' is not a ByteString (a character above U+00FF)`);
  }
  return text;
}

function isBufferSource(value) {
  return value instanceof ArrayBuffer || ArrayBuffer.isView(value) ||
    (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer);
}

// A copy of the bytes of a BufferSource.
function bytesOf(value) {
  if (ArrayBuffer.isView(value)) return new Uint8Array(value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength));
  return new Uint8Array(value.slice(0));
}

function concatBytes(chunks, total) {
  if (total === undefined) total = chunks.reduce((n, chunk) => n + chunk.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

function utf8Encode(text) {
  return new (loadUnit("encoding").TextEncoder)().encode(text);
}

function utf8Decode(bytes) {
  return new (loadUnit("encoding").TextDecoder)().decode(bytes);
}

// Bytes cross the transport (JSON) as base64.
function bytesToBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 8192) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192));
  return btoa(binary);
}

function base64ToBytes(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
