// provides: defineCrypto
// uses: illegalConstructor, ILLEGAL, isBufferSource, bytesOf, bytesToBase64, base64ToBytes, loadUnit
// private: HASHES, KEYS, DOM_ERRORS, base64url, fromBase64url

// Web Crypto: `crypto.getRandomValues` and `randomUUID` from a ChaCha20 generator (@noble/ciphers)
// keyed by the host's entropy, which arrives with the runtime's first message (never in a
// snapshot), with fast key erasure (each draw re-keys it). `crypto.subtle` checks its arguments
// and keeps keys here, and asks the host (the `subtle` capability, runner/capabilities/subtle.py)
// for the cryptography: digests (SHA-1/256/384/512) and HMAC. Other algorithms reject with
// NotSupportedError.

const HASHES = { "SHA-1": 64, "SHA-256": 64, "SHA-384": 128, "SHA-512": 128 }; // name -> block bytes
const KEYS = new WeakMap(); // CryptoKey -> {type, extractable, algorithm, usages, material}
const DOM_ERRORS = new Set(["NotSupportedError", "OperationError", "InvalidAccessError", "DataError", "SyntaxError",
  "QuotaExceededError", "TypeMismatchError"]);

function base64url(bytes) {
  return bytesToBase64(bytes).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text) {
  const plain = String(text).replace(/-/g, "+").replace(/_/g, "/");
  return base64ToBytes(plain + "=".repeat((4 - (plain.length % 4)) % 4));
}

function defineCrypto(transport) {
  let key = null; // 32 bytes, replaced on every draw
  const nonce = new Uint8Array(12);

  const seed = (hex) => {
    const bytes = new Uint8Array(32);
    for (let i = 0; i < 32; i++) bytes[i] = parseInt(String(hex).slice(2 * i, 2 * i + 2), 16) || 0;
    if (key !== null) for (let i = 0; i < 32; i++) bytes[i] ^= key[i];
    key = bytes;
  };
  const randomBytes = (n) => {
    if (key === null) throw new Error("crypto: this runtime has no entropy: the host did not seed it");
    const stream = loadUnit("chacha20").chacha20(key, nonce, new Uint8Array(32 + n));
    key = stream.slice(0, 32);
    return stream.subarray(32);
  };

  class CryptoKey {
    constructor(token) { illegalConstructor(token, "CryptoKey"); }
    get type() { return keyOf(this).type; }
    get extractable() { return keyOf(this).extractable; }
    get algorithm() { return keyOf(this).algorithm; }
    get usages() { return keyOf(this).usages; }
  }
  const keyOf = (value) => {
    const found = KEYS.get(value);
    if (found === undefined) throw new TypeError("not a CryptoKey");
    return found;
  };
  const makeKey = (algorithm, extractable, usages, material) => {
    const cryptoKey = new CryptoKey(ILLEGAL);
    KEYS.set(cryptoKey, { type: "secret", extractable: Boolean(extractable), algorithm: Object.freeze(algorithm),
      usages: Object.freeze([...usages]), material });
    return cryptoKey;
  };

  const fail = (name, message) => new DOMException(message, name);
  const algorithmName = (algorithm) => {
    const name = typeof algorithm === "string" ? algorithm : algorithm !== null && typeof algorithm === "object" ? algorithm.name : undefined;
    if (name === undefined) throw new TypeError("crypto.subtle: the algorithm has no name");
    return String(name);
  };
  const hashName = (hash) => {
    const name = algorithmName(hash).toUpperCase();
    if (!(name in HASHES)) throw fail("NotSupportedError", `crypto.subtle: unsupported hash '${algorithmName(hash)}'`);
    return name;
  };
  const data = (value, what) => {
    if (!isBufferSource(value)) throw new TypeError(`crypto.subtle: ${what} must be a BufferSource`);
    return bytesOf(value);
  };
  const checkUsages = (usages, allowed) => {
    const list = [...usages].map(String);
    for (const usage of list) {
      if (!allowed.includes(usage)) throw fail("SyntaxError", `crypto.subtle: usage '${usage}' is not valid for this key`);
    }
    if (list.length === 0) throw fail("SyntaxError", "crypto.subtle: a secret key needs at least one usage");
    return list;
  };
  const host = async (args) => {
    try {
      return await transport.invoke("subtle", args);
    } catch (error) {
      const name = error && DOM_ERRORS.has(error.name) ? error.name : "OperationError";
      throw fail(name, error && error.message ? error.message : String(error));
    }
  };
  const hmacAlgorithm = (algorithm) => {
    if (algorithmName(algorithm).toUpperCase() !== "HMAC") {
      throw fail("NotSupportedError", `crypto.subtle: '${algorithmName(algorithm)}' is not supported (only HMAC keys are)`);
    }
    if (algorithm.hash === undefined) throw new TypeError("crypto.subtle: HMAC needs a hash");
    return hashName(algorithm.hash);
  };
  const usableKey = (cryptoKey, algorithm, usage) => {
    const state = keyOf(cryptoKey);
    if (algorithmName(algorithm).toUpperCase() !== state.algorithm.name) {
      throw fail("InvalidAccessError", `crypto.subtle: the key is a ${state.algorithm.name} key, not ${algorithmName(algorithm)}`);
    }
    if (!state.usages.includes(usage)) throw fail("InvalidAccessError", `crypto.subtle: the key cannot be used to ${usage}`);
    return state;
  };

  // Each method returns a promise, also for bad arguments (a rejection, as the spec's steps run in parallel).
  const methods = {
    async digest(algorithm, input) {
      const name = hashName(algorithm);
      return base64ToBytes(await host(["digest", name, bytesToBase64(data(input, "data"))])).buffer;
    },
    async importKey(format, keyData, algorithm, extractable, keyUsages) {
      const hash = hmacAlgorithm(algorithm);
      const usages = checkUsages(keyUsages, ["sign", "verify"]);
      let material;
      if (format === "raw") {
        material = data(keyData, "keyData");
      } else if (format === "jwk") {
        if (keyData === null || typeof keyData !== "object") throw new TypeError("crypto.subtle: a JWK must be an object");
        if (keyData.kty !== "oct") throw fail("DataError", "crypto.subtle: an HMAC JWK must have kty 'oct'");
        if (typeof keyData.k !== "string") throw fail("DataError", "crypto.subtle: the JWK has no 'k'");
        material = fromBase64url(keyData.k);
        if (keyData.ext === false && extractable) throw fail("DataError", "crypto.subtle: the JWK is not extractable");
      } else {
        throw fail("NotSupportedError", `crypto.subtle: HMAC keys import from 'raw' or 'jwk', not '${format}'`);
      }
      if (material.byteLength === 0) throw fail("DataError", "crypto.subtle: an HMAC key cannot be empty");
      let length = material.byteLength * 8;
      if (algorithm.length !== undefined) {
        length = Number(algorithm.length);
        if (length > material.byteLength * 8 || length <= (material.byteLength - 1) * 8) {
          throw fail("DataError", "crypto.subtle: the HMAC length does not match the key");
        }
      }
      return makeKey({ name: "HMAC", length, hash: { name: hash } }, extractable, usages, material);
    },
    async generateKey(algorithm, extractable, keyUsages) {
      const hash = hmacAlgorithm(algorithm);
      const usages = checkUsages(keyUsages, ["sign", "verify"]);
      const length = algorithm.length === undefined ? HASHES[hash] * 8 : Number(algorithm.length);
      if (!(length > 0)) throw fail("OperationError", "crypto.subtle: the HMAC length must be positive");
      return makeKey({ name: "HMAC", length, hash: { name: hash } }, extractable, usages, randomBytes(Math.ceil(length / 8)).slice());
    },
    async exportKey(format, cryptoKey) {
      const state = keyOf(cryptoKey);
      if (!state.extractable) throw fail("InvalidAccessError", "crypto.subtle: the key is not extractable");
      if (format === "raw") return state.material.slice().buffer;
      if (format === "jwk") {
        return { kty: "oct", k: base64url(state.material), alg: `HS${state.algorithm.hash.name.slice(4)}`,
          key_ops: [...state.usages], ext: true };
      }
      throw fail("NotSupportedError", `crypto.subtle: HMAC keys export as 'raw' or 'jwk', not '${format}'`);
    },
    async sign(algorithm, cryptoKey, input) {
      const state = usableKey(cryptoKey, algorithm, "sign");
      const mac = await host(["sign", "HMAC", state.algorithm.hash.name, bytesToBase64(state.material), bytesToBase64(data(input, "data"))]);
      return base64ToBytes(mac).buffer;
    },
    async verify(algorithm, cryptoKey, signature, input) {
      const state = usableKey(cryptoKey, algorithm, "verify");
      return host(["verify", "HMAC", state.algorithm.hash.name, bytesToBase64(state.material),
        bytesToBase64(data(signature, "signature")), bytesToBase64(data(input, "data"))]);
    },
  };
  for (const name of ["encrypt", "decrypt", "deriveKey", "deriveBits", "wrapKey", "unwrapKey"]) {
    methods[name] = async () => { throw fail("NotSupportedError", `crypto.subtle.${name} is not supported by this runtime`); };
  }

  class SubtleCrypto {
    constructor(token) { illegalConstructor(token, "SubtleCrypto"); }
  }
  for (const [name, method] of Object.entries(methods)) {
    Object.defineProperty(SubtleCrypto.prototype, name, { value: method, writable: true, configurable: true, enumerable: true });
  }

  const subtle = new SubtleCrypto(ILLEGAL);
  class Crypto {
    constructor(token) { illegalConstructor(token, "Crypto"); }
    get subtle() { return subtle; }
    getRandomValues(array) {
      if (!ArrayBuffer.isView(array) || array instanceof DataView || array instanceof Float32Array ||
          array instanceof Float64Array || (typeof Float16Array === "function" && array instanceof Float16Array)) {
        throw new DOMException("crypto.getRandomValues: the argument must be an integer typed array", "TypeMismatchError");
      }
      if (array.byteLength > 65536) {
        throw new DOMException(`crypto.getRandomValues: ${array.byteLength} bytes asked, more than 65536`, "QuotaExceededError");
      }
      new Uint8Array(array.buffer, array.byteOffset, array.byteLength).set(randomBytes(array.byteLength));
      return array;
    }
    randomUUID() {
      const bytes = randomBytes(16);
      bytes[6] = (bytes[6] & 0x0f) | 0x40;
      bytes[8] = (bytes[8] & 0x3f) | 0x80;
      const hex = [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    }
  }
  for (const [name, cls] of Object.entries({ Crypto, SubtleCrypto, CryptoKey })) {
    Object.defineProperty(cls.prototype, Symbol.toStringTag, { value: name, configurable: true });
  }
  return { crypto: new Crypto(ILLEGAL), Crypto, SubtleCrypto, CryptoKey, seed, randomBytes };
}
