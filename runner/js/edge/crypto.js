// provides: defineCrypto
// uses: illegalConstructor, ILLEGAL, isBufferSource, bytesOf, bytesToBase64, base64ToBytes, loadUnit, utf8Encode, utf8Decode
// private: HASHES, KEYS, ALGORITHMS, DOM_ERRORS, base64url, fromBase64url

// Web Crypto: `crypto.getRandomValues` and `randomUUID` from a ChaCha20 generator (@noble/ciphers)
// keyed by the host's entropy, which arrives with the runtime's first message (never in a
// snapshot), with fast key erasure (each draw re-keys it). `crypto.subtle` checks its arguments
// and keeps keys here (a secret key's bytes; a private key's PKCS #8 and a public key's SPKI, as
// base64), and asks the host (the `subtle` capability, runner/capabilities/subtle.py) for the
// cryptography: digests, HMAC, AES-GCM/CBC/CTR, ECDSA, Ed25519, RSASSA-PKCS1-v1_5, RSA-PSS,
// RSA-OAEP, PBKDF2, HKDF, ECDH and X25519. Other algorithms reject with NotSupportedError.

const HASHES = { "SHA-1": 64, "SHA-256": 64, "SHA-384": 128, "SHA-512": 128 }; // name -> block bytes
const KEYS = new WeakMap(); // CryptoKey -> {type, extractable, algorithm, usages, material}
// The algorithms of keys: a secret key's usages, or a key pair's (private and public); `rawOnly`
// for key-derivation material (imported raw, never extractable).
const ALGORITHMS = {
  "HMAC": { secret: ["sign", "verify"] },
  "AES-GCM": { secret: ["encrypt", "decrypt", "wrapKey", "unwrapKey"] },
  "AES-CBC": { secret: ["encrypt", "decrypt", "wrapKey", "unwrapKey"] },
  "AES-CTR": { secret: ["encrypt", "decrypt", "wrapKey", "unwrapKey"] },
  "PBKDF2": { secret: ["deriveBits", "deriveKey"], rawOnly: true },
  "HKDF": { secret: ["deriveBits", "deriveKey"], rawOnly: true },
  "ECDSA": { private: ["sign"], public: ["verify"] },
  "Ed25519": { private: ["sign"], public: ["verify"] },
  "RSASSA-PKCS1-v1_5": { private: ["sign"], public: ["verify"] },
  "RSA-PSS": { private: ["sign"], public: ["verify"] },
  "RSA-OAEP": { private: ["decrypt", "unwrapKey"], public: ["encrypt", "wrapKey"] },
  "ECDH": { private: ["deriveBits", "deriveKey"], public: [] },
  "X25519": { private: ["deriveBits", "deriveKey"], public: [] },
};
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
  const makeKey = (type, algorithm, extractable, usages, material) => {
    const cryptoKey = new CryptoKey(ILLEGAL);
    KEYS.set(cryptoKey, { type, extractable: Boolean(extractable), algorithm: Object.freeze(algorithm),
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
  // The algorithm as its spec names it, whatever the case it was given in; one this runtime lacks
  // is NotSupportedError.
  const spec = (algorithm) => {
    const given = algorithmName(algorithm);
    const name = Object.keys(ALGORITHMS).find((known) => known.toUpperCase() === given.toUpperCase());
    if (name === undefined) throw fail("NotSupportedError", `crypto.subtle: '${given}' is not supported`);
    return name;
  };
  // What crosses to the host: the name, the hash's name, numbers and strings as given, BufferSource
  // members as base64, and ECDH's `public` key as its SPKI.
  const normalize = (algorithm) => {
    const name = spec(algorithm);
    const out = { name };
    if (typeof algorithm !== "object") return out;
    for (const key of ["hash", "namedCurve", "length", "tagLength", "saltLength", "iterations", "modulusLength",
      "iv", "counter", "additionalData", "salt", "info", "label", "publicExponent", "public"]) {
      const value = algorithm[key];
      if (value === undefined) continue;
      if (key === "hash") out.hash = hashName(value);
      else if (key === "public") {
        const state = keyOf(value);
        if (state.type !== "public") throw fail("InvalidAccessError", `crypto.subtle: ${name}'s public member must be a public key`);
        if (state.algorithm.name !== name) throw fail("InvalidAccessError", `crypto.subtle: the public key is a ${state.algorithm.name} key, not ${name}`);
        out.public = state.material;
      } else if (isBufferSource(value)) out[key] = bytesToBase64(bytesOf(value));
      else if (typeof value === "number" || typeof value === "string") out[key] = value;
    }
    return out;
  };
  const checkUsages = (usages, allowed, needOne) => {
    const list = [...new Set([...usages].map(String))];
    for (const usage of list) {
      if (!allowed.includes(usage)) throw fail("SyntaxError", `crypto.subtle: usage '${usage}' is not valid for this key`);
    }
    if (needOne && list.length === 0) throw fail("SyntaxError", "crypto.subtle: a secret or private key needs at least one usage");
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
  // The key, checked for the operation: its algorithm is the one asked, and it has the usage.
  const usableKey = (cryptoKey, algorithm, usage) => {
    const state = keyOf(cryptoKey);
    if (algorithmName(algorithm).toUpperCase() !== state.algorithm.name.toUpperCase()) {
      throw fail("InvalidAccessError", `crypto.subtle: the key is a ${state.algorithm.name} key, not ${algorithmName(algorithm)}`);
    }
    if (!state.usages.includes(usage)) throw fail("InvalidAccessError", `crypto.subtle: the key cannot be used to ${usage}`);
    return state;
  };
  // The operation's parameters with what the key decides (its hash, for HMAC and RSA).
  const withKey = (algorithm, state) => {
    const out = normalize(algorithm);
    if (state.algorithm.hash && out.hash === undefined) out.hash = state.algorithm.hash.name;
    if (state.algorithm.name === "HMAC" || state.algorithm.name.startsWith("RSA")) out.hash = state.algorithm.hash.name;
    return out;
  };
  const keyMaterial = (state) => (state.type === "secret" ? bytesToBase64(state.material) : state.material);

  // A secret key's length in bits for importKey/generateKey/deriveKey (AES: 128/192/256; HMAC:
  // given, or the hash's block size).
  const secretLength = (name, given, bytes) => {
    const algorithm = typeof given === "object" && given !== null ? given : {}; // a name alone has no members
    if (name.startsWith("AES-")) {
      const length = bytes === null ? Number(algorithm.length) : bytes.byteLength * 8;
      if (![128, 192, 256].includes(length)) {
        const Kind = bytes === null ? "OperationError" : "DataError";
        throw fail(Kind, `crypto.subtle: an AES key is 128, 192 or 256 bits, not ${length}`);
      }
      if (bytes !== null && algorithm.length !== undefined && Number(algorithm.length) !== length) {
        throw fail("DataError", "crypto.subtle: the AES length does not match the key");
      }
      return length;
    }
    if (name === "HMAC") {
      if (algorithm.hash === undefined) throw new TypeError("crypto.subtle: HMAC needs a hash");
      if (bytes === null) {
        const length = algorithm.length === undefined ? HASHES[hashName(algorithm.hash)] * 8 : Number(algorithm.length);
        if (!(length > 0)) throw fail("OperationError", "crypto.subtle: the HMAC length must be positive");
        return length;
      }
      if (bytes.byteLength === 0) throw fail("DataError", "crypto.subtle: an HMAC key cannot be empty");
      if (algorithm.length === undefined) return bytes.byteLength * 8;
      const length = Number(algorithm.length);
      if (length > bytes.byteLength * 8 || length <= (bytes.byteLength - 1) * 8) {
        throw fail("DataError", "crypto.subtle: the HMAC length does not match the key");
      }
      return length;
    }
    return bytes === null ? null : bytes.byteLength * 8;
  };
  const secretAlgorithm = (name, algorithm, length) => {
    if (name === "HMAC") return { name, length, hash: { name: hashName(algorithm.hash) } }; // checked by secretLength
    if (name.startsWith("AES-")) return { name, length };
    return { name };
  };
  const jwkAlg = (state) => {
    const { name } = state.algorithm;
    const bits = state.algorithm.hash ? state.algorithm.hash.name.slice(4) : "";
    if (name === "HMAC") return `HS${bits}`;
    if (name.startsWith("AES-")) return `A${state.algorithm.length}${name.slice(4)}`;
    if (name === "RSASSA-PKCS1-v1_5") return `RS${bits}`;
    if (name === "RSA-PSS") return `PS${bits}`;
    if (name === "RSA-OAEP") return bits === "1" ? "RSA-OAEP" : `RSA-OAEP-${bits}`;
    if (name === "Ed25519") return "Ed25519";
    return undefined;
  };

  const importKey = async (format, keyData, algorithm, extractable, keyUsages) => {
    const name = spec(algorithm);
    const kind = ALGORITHMS[name];
    format = String(format);
    if (kind.secret) {
      const usages = checkUsages(keyUsages, kind.secret, true);
      let material;
      if (format === "raw") {
        material = data(keyData, "keyData");
      } else if (format === "jwk" && !kind.rawOnly) {
        if (keyData === null || typeof keyData !== "object") throw new TypeError("crypto.subtle: a JWK must be an object");
        if (keyData.kty !== "oct") throw fail("DataError", `crypto.subtle: a ${name} JWK must have kty 'oct'`);
        if (typeof keyData.k !== "string") throw fail("DataError", "crypto.subtle: the JWK has no 'k'");
        material = fromBase64url(keyData.k);
        if (keyData.ext === false && extractable) throw fail("DataError", "crypto.subtle: the JWK is not extractable");
      } else {
        throw fail("NotSupportedError", `crypto.subtle: ${name} keys do not import from '${format}'`);
      }
      if (kind.rawOnly && extractable) throw fail("SyntaxError", `crypto.subtle: ${name} keys cannot be extractable`);
      const length = secretLength(name, algorithm, material);
      return makeKey("secret", secretAlgorithm(name, algorithm, length), extractable, usages, material.slice());
    }
    let payload;
    if (format === "jwk") {
      if (keyData === null || typeof keyData !== "object") throw new TypeError("crypto.subtle: a JWK must be an object");
      payload = JSON.parse(JSON.stringify(keyData));
      if (keyData.ext === false && extractable) throw fail("DataError", "crypto.subtle: the JWK is not extractable");
    } else if (["spki", "pkcs8", "raw"].includes(format)) {
      payload = bytesToBase64(data(keyData, "keyData"));
    } else {
      throw fail("NotSupportedError", `crypto.subtle: unknown key format '${format}'`);
    }
    const normalized = normalize(algorithm);
    const imported = await host(["importKey", format, normalized, payload]);
    const usages = checkUsages(keyUsages, kind[imported.type], imported.type === "private" && kind.public.length === 0);
    return makeKey(imported.type, pairAlgorithm(name, normalized, imported), extractable, usages, imported.der);
  };
  const pairAlgorithm = (name, normalized, details) => {
    const out = { name };
    if (details.namedCurve) out.namedCurve = details.namedCurve;
    if (details.modulusLength) {
      out.modulusLength = details.modulusLength;
      out.publicExponent = base64ToBytes(details.publicExponent);
      if (normalized.hash === undefined) throw new TypeError(`crypto.subtle: ${name} needs a hash`);
      out.hash = { name: normalized.hash };
    }
    return out;
  };
  const exportKey = async (format, cryptoKey) => {
    const state = keyOf(cryptoKey);
    format = String(format);
    if (!state.extractable) throw fail("InvalidAccessError", "crypto.subtle: the key is not extractable");
    let jwk;
    if (state.type === "secret") {
      if (format === "raw") return state.material.slice().buffer;
      if (format !== "jwk" || ALGORITHMS[state.algorithm.name].rawOnly) {
        throw fail("NotSupportedError", `crypto.subtle: ${state.algorithm.name} keys do not export as '${format}'`);
      }
      jwk = { kty: "oct", k: base64url(state.material) };
    } else {
      const exported = await host(["exportKey", format, { name: state.algorithm.name }, state.type, state.material]);
      if (format !== "jwk") return base64ToBytes(exported).buffer;
      jwk = exported;
    }
    const alg = jwkAlg(state);
    if (alg !== undefined) jwk.alg = alg;
    return Object.assign(jwk, { key_ops: [...state.usages], ext: true });
  };
  const generateKey = async (algorithm, extractable, keyUsages) => {
    const name = spec(algorithm);
    const kind = ALGORITHMS[name];
    if (kind.secret) {
      if (kind.rawOnly) throw fail("NotSupportedError", `crypto.subtle: ${name} keys are imported, not generated`);
      const usages = checkUsages(keyUsages, kind.secret, true);
      const length = secretLength(name, algorithm, null);
      return makeKey("secret", secretAlgorithm(name, algorithm, length), extractable, usages,
        randomBytes(Math.ceil(length / 8)).slice());
    }
    const all = checkUsages(keyUsages, [...kind.private, ...kind.public], false);
    const privateUsages = all.filter((usage) => kind.private.includes(usage));
    if (privateUsages.length === 0) throw fail("SyntaxError", "crypto.subtle: the private key would have no usage");
    const normalized = normalize(algorithm);
    const pair = await host(["generateKey", normalized]);
    const details = await host(["importKey", "spki", normalized, pair.public]);
    const keyAlgorithm = pairAlgorithm(name, normalized, details);
    return {
      publicKey: makeKey("public", keyAlgorithm, true, all.filter((usage) => kind.public.includes(usage)), pair.public),
      privateKey: makeKey("private", keyAlgorithm, extractable, privateUsages, pair.private),
    };
  };
  const deriveBits = async (algorithm, baseKey, length) => {
    const state = usableKey(baseKey, algorithm, "deriveBits");
    const bits = await host(["deriveBits", normalize(algorithm), keyMaterial(state), length === undefined || length === null ? null : Number(length)]);
    return base64ToBytes(bits).buffer;
  };
  // The bit length deriveKey asks for: the derived key's own (AES, HMAC).
  const derivedLength = (algorithm) => {
    const name = spec(algorithm);
    if (name.startsWith("AES-") || name === "HMAC") return secretLength(name, algorithm, null);
    throw fail("NotSupportedError", `crypto.subtle: cannot derive a ${name} key`);
  };

  // Each method returns a promise, also for bad arguments (a rejection, as the spec's steps run in parallel).
  const methods = {
    async digest(algorithm, input) {
      const name = hashName(algorithm);
      return base64ToBytes(await host(["digest", name, bytesToBase64(data(input, "data"))])).buffer;
    },
    importKey,
    exportKey,
    generateKey,
    async sign(algorithm, cryptoKey, input) {
      const state = usableKey(cryptoKey, algorithm, "sign");
      return base64ToBytes(await host(["sign", withKey(algorithm, state), keyMaterial(state), bytesToBase64(data(input, "data"))])).buffer;
    },
    async verify(algorithm, cryptoKey, signature, input) {
      const state = usableKey(cryptoKey, algorithm, "verify");
      return host(["verify", withKey(algorithm, state), keyMaterial(state), bytesToBase64(data(signature, "signature")),
        bytesToBase64(data(input, "data"))]);
    },
    async encrypt(algorithm, cryptoKey, input) {
      const state = usableKey(cryptoKey, algorithm, "encrypt");
      return base64ToBytes(await host(["encrypt", withKey(algorithm, state), keyMaterial(state), bytesToBase64(data(input, "data"))])).buffer;
    },
    async decrypt(algorithm, cryptoKey, input) {
      const state = usableKey(cryptoKey, algorithm, "decrypt");
      return base64ToBytes(await host(["decrypt", withKey(algorithm, state), keyMaterial(state), bytesToBase64(data(input, "data"))])).buffer;
    },
    deriveBits,
    async deriveKey(algorithm, baseKey, derivedKeyType, extractable, keyUsages) {
      const length = derivedLength(derivedKeyType);
      usableKey(baseKey, algorithm, "deriveKey");
      const state = keyOf(baseKey);
      const bits = await host(["deriveBits", normalize(algorithm), keyMaterial(state), length]);
      return importKey("raw", base64ToBytes(bits), derivedKeyType, extractable, keyUsages);
    },
    async wrapKey(format, key, wrappingKey, wrapAlgorithm) {
      const state = usableKey(wrappingKey, wrapAlgorithm, "wrapKey");
      const exported = await exportKey(format, key);
      const bytes = String(format) === "jwk" ? utf8Encode(JSON.stringify(exported)) : new Uint8Array(exported);
      return base64ToBytes(await host(["encrypt", withKey(wrapAlgorithm, state), keyMaterial(state), bytesToBase64(bytes)])).buffer;
    },
    async unwrapKey(format, wrappedKey, unwrappingKey, unwrapAlgorithm, unwrappedKeyAlgorithm, extractable, keyUsages) {
      const state = usableKey(unwrappingKey, unwrapAlgorithm, "unwrapKey");
      const bytes = base64ToBytes(await host(["decrypt", withKey(unwrapAlgorithm, state), keyMaterial(state),
        bytesToBase64(data(wrappedKey, "wrappedKey"))]));
      let keyData = bytes;
      if (String(format) === "jwk") {
        try {
          keyData = JSON.parse(utf8Decode(bytes));
        } catch {
          throw fail("DataError", "crypto.subtle: the unwrapped key is not a JWK");
        }
      }
      return importKey(format, keyData, unwrappedKeyAlgorithm, extractable, keyUsages);
    },
  };

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
