"""crypto.subtle beyond digests and HMAC, in every evaluator, checked against Python's `cryptography`
run on the host side of the test: what the runtime signs, encrypts or derives, Python verifies,
decrypts or derives too, and the other way round (keys made by Python imported into the runtime)."""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import json
import os

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from runner import Server
from tests.project_files import write

EVALUATORS = ["inprocess", "wasm", "process"]
PKCS8 = (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)

SOURCE = """
const s = crypto.subtle;
const bytes = (b64) => Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
const b64 = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer)));
const caught = async (promise) => { try { await promise; return "resolved"; } catch (e) { return e.name; } };

export default async (input) => {
  const data = bytes(input.data);
  const out = {};
  for (const namedCurve of ["P-256", "P-384"]) {
    const pair = await s.generateKey({ name: "ECDSA", namedCurve }, true, ["sign", "verify"]);
    const signature = await s.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, data);
    out[namedCurve] = { spki: b64(await s.exportKey("spki", pair.publicKey)), signature: b64(signature),
      jwk: await s.exportKey("jwk", pair.privateKey), usages: [pair.publicKey.usages, pair.privateKey.usages] };
  }
  const ed = await s.importKey("pkcs8", bytes(input.ed25519), "Ed25519", false, ["sign"]);
  out.ed25519 = b64(await s.sign("Ed25519", ed, data));
  const edPublic = await s.importKey("raw", bytes(input.ed25519Public), "Ed25519", true, ["verify"]);
  out.ed25519Verified = await s.verify("Ed25519", edPublic, bytes(input.ed25519Signature), data);

  const aes = await s.importKey("raw", bytes(input.aesKey), "AES-GCM", true, ["encrypt", "decrypt"]);
  const gcm = { name: "AES-GCM", iv: bytes(input.iv), additionalData: bytes(input.aad) };
  out.gcmPlain = b64(await s.decrypt(gcm, aes, bytes(input.gcmCipher)));
  out.gcmCipher = b64(await s.encrypt(gcm, aes, data));
  const tampered = bytes(input.gcmCipher); tampered[0] ^= 1;
  out.gcmTampered = await caught(s.decrypt(gcm, aes, tampered));
  const cbcKey = await s.importKey("raw", bytes(input.aesKey), { name: "AES-CBC" }, false, ["encrypt"]);
  out.cbc = b64(await s.encrypt({ name: "AES-CBC", iv: bytes(input.iv16) }, cbcKey, data));
  const ctrKey = await s.importKey("raw", bytes(input.aesKey), { name: "AES-CTR" }, false, ["encrypt"]);
  out.ctr = b64(await s.encrypt({ name: "AES-CTR", counter: bytes(input.iv16), length: 64 }, ctrKey, data));

  const oaep = await s.importKey("spki", bytes(input.rsaPublic), { name: "RSA-OAEP", hash: "SHA-256" }, false,
    ["encrypt"]);
  out.oaep = b64(await s.encrypt({ name: "RSA-OAEP", label: bytes(input.iv) }, oaep, bytes(input.iv16)));
  const pss = await s.importKey("pkcs8", bytes(input.rsaPrivate), { name: "RSA-PSS", hash: "SHA-384" }, false,
    ["sign"]);
  out.pss = b64(await s.sign({ name: "RSA-PSS", saltLength: 48 }, pss, data));
  const pkcs1 = await s.importKey("pkcs8", bytes(input.rsaPrivate), { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
    false, ["sign"]);
  out.pkcs1 = b64(await s.sign("RSASSA-PKCS1-v1_5", pkcs1, data));
  out.rsaAlgorithm = { ...pss.algorithm, publicExponent: [...pss.algorithm.publicExponent] };

  const password = await s.importKey("raw", data, "PBKDF2", false, ["deriveBits"]);
  out.pbkdf2 = b64(await s.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt: bytes(input.iv), iterations: 1000 },
    password, 256));
  const ikm = await s.importKey("raw", data, "HKDF", false, ["deriveKey"]);
  const hkdf = { name: "HKDF", hash: "SHA-512", salt: bytes(input.iv), info: bytes(input.aad) };
  const derived = await s.deriveKey(hkdf, ikm, { name: "HMAC", hash: "SHA-256", length: 256 }, true, ["sign"]);
  out.hkdf = b64(await s.exportKey("raw", derived));

  const ecdh = await s.generateKey({ name: "ECDH", namedCurve: "P-256" }, false, ["deriveBits"]);
  const theirs = await s.importKey("spki", bytes(input.ecdhPublic), { name: "ECDH", namedCurve: "P-256" }, true, []);
  out.ecdh = { spki: b64(await s.exportKey("spki", ecdh.publicKey)),
    secret: b64(await s.deriveBits({ name: "ECDH", public: theirs }, ecdh.privateKey, 256)) };
  const x = await s.generateKey({ name: "X25519" }, false, ["deriveBits"]);
  const xTheirs = await s.importKey("raw", bytes(input.x25519Public), "X25519", true, []);
  out.x25519 = { raw: b64(await s.exportKey("raw", x.publicKey)),
    secret: b64(await s.deriveBits({ name: "X25519", public: xTheirs }, x.privateKey, 256)) };

  const wrapper = await s.importKey("raw", bytes(input.aesKey), "AES-GCM", false, ["wrapKey", "unwrapKey"]);
  const wrapped = await s.wrapKey("jwk", aes, wrapper, { name: "AES-GCM", iv: bytes(input.iv) });
  const unwrapped = await s.unwrapKey("jwk", wrapped, wrapper, { name: "AES-GCM", iv: bytes(input.iv) }, "AES-GCM",
    true, ["decrypt"]);
  out.unwrapped = b64(await s.exportKey("raw", unwrapped));

  out.errors = {
    unknownAlgorithm: await caught(s.generateKey({ name: "AES-KW", length: 128 }, true, ["wrapKey"])),
    wrongKey: await caught(s.sign({ name: "HMAC", hash: "SHA-256" }, ed, data)),
    wrongUsage: await caught(s.encrypt(gcm, cbcKey, data)),
    notExtractable: await caught(s.exportKey("raw", password)),
    badCurve: await caught(s.generateKey({ name: "ECDSA", namedCurve: "P-192" }, true, ["sign"])),
    badUsage: await caught(s.importKey("raw", bytes(input.aesKey), "AES-GCM", true, ["sign"])),
  };
  return out;
};
"""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def raw(text: str) -> bytes:
    return base64.b64decode(text)


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(65537, 2048)


@pytest.mark.parametrize("evaluator", EVALUATORS)
def test_subtle_agrees_with_pythons_cryptography(tmp_path, evaluator):
    data, aes_key, iv, iv16, aad = os.urandom(300), os.urandom(32), os.urandom(12), os.urandom(16), os.urandom(20)
    ed = ed25519.Ed25519PrivateKey.generate()
    ecdh_mine = ec.generate_private_key(ec.SECP256R1())
    x_mine = x25519.X25519PrivateKey.generate()
    x_public = x_mine.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    inputs = {
        "data": b64(data), "aesKey": b64(aes_key), "iv": b64(iv), "iv16": b64(iv16), "aad": b64(aad),
        "ed25519": b64(ed.private_bytes(*PKCS8)), "ed25519Signature": b64(ed.sign(data)),
        "ed25519Public": b64(ed.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)),
        "gcmCipher": b64(AESGCM(aes_key).encrypt(iv, data, aad)),
        "rsaPublic": b64(rsa_key().public_key().public_bytes(*SPKI)),
        "rsaPrivate": b64(rsa_key().private_bytes(*PKCS8)),
        "ecdhPublic": b64(ecdh_mine.public_key().public_bytes(*SPKI)), "x25519Public": b64(x_public),
    }
    write(tmp_path, {"entry.js": SOURCE})

    async def main():
        async with Server(root=tmp_path, environments={"t": {"evaluator": evaluator, "profile": "edge"}},
                          cache_dir=False) as server:
            module = await server.environments["t"].import_module("/entry.js")
            return await module.default(inputs)

    out = asyncio.run(main())

    for name, curve, size in (("P-256", ec.SECP256R1, 32), ("P-384", ec.SECP384R1, 48)):
        public = serialization.load_der_public_key(raw(out[name]["spki"]))
        assert isinstance(public, ec.EllipticCurvePublicKey) and isinstance(public.curve, curve)
        signature = raw(out[name]["signature"])
        assert len(signature) == 2 * size  # WebCrypto's r || s
        der = encode_dss_signature(int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big"))
        public.verify(der, data, ec.ECDSA(hashes.SHA256()))  # raises if it does not verify
        jwk = out[name]["jwk"]
        assert (jwk["kty"], jwk["crv"], jwk["ext"], jwk["key_ops"]) == ("EC", name, True, ["sign"])
        assert int.from_bytes(base64.urlsafe_b64decode(jwk["x"] + "=="), "big") == public.public_numbers().x
        assert out[name]["usages"] == [["verify"], ["sign"]]

    ed.public_key().verify(raw(out["ed25519"]), data)
    assert out["ed25519Verified"] is True

    assert raw(out["gcmPlain"]) == data
    assert AESGCM(aes_key).decrypt(iv, raw(out["gcmCipher"]), aad) == data
    assert out["gcmTampered"] == "OperationError"
    decryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv16)).decryptor()
    padded = decryptor.update(raw(out["cbc"])) + decryptor.finalize()
    assert padded[:len(data)] == data and padded[len(data):] == bytes([16 - len(data) % 16]) * (16 - len(data) % 16)
    encryptor = Cipher(algorithms.AES(aes_key), modes.CTR(iv16)).encryptor()  # no counter wrap in 19 blocks
    assert raw(out["ctr"]) == encryptor.update(data) + encryptor.finalize()

    oaep = padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=iv)
    assert rsa_key().decrypt(raw(out["oaep"]), oaep) == iv16
    pss = padding.PSS(padding.MGF1(hashes.SHA384()), 48)
    rsa_key().public_key().verify(raw(out["pss"]), data, pss, hashes.SHA384())
    assert raw(out["pkcs1"]) == rsa_key().sign(data, padding.PKCS1v15(), hashes.SHA256())  # deterministic
    assert out["rsaAlgorithm"] == {"name": "RSA-PSS", "modulusLength": 2048, "publicExponent": [1, 0, 1],
                                   "hash": {"name": "SHA-384"}}

    assert raw(out["pbkdf2"]) == hashlib.pbkdf2_hmac("sha256", data, iv, 1000, 32)
    assert raw(out["hkdf"]) == HKDF(hashes.SHA512(), 32, iv, aad).derive(data)

    theirs = serialization.load_der_public_key(raw(out["ecdh"]["spki"]))
    assert isinstance(theirs, ec.EllipticCurvePublicKey)
    assert raw(out["ecdh"]["secret"]) == ecdh_mine.exchange(ec.ECDH(), theirs)
    x_theirs = x25519.X25519PublicKey.from_public_bytes(raw(out["x25519"]["raw"]))
    assert raw(out["x25519"]["secret"]) == x_mine.exchange(x_theirs)

    assert raw(out["unwrapped"]) == aes_key
    assert out["errors"] == {"unknownAlgorithm": "NotSupportedError", "wrongKey": "InvalidAccessError",
                             "wrongUsage": "InvalidAccessError", "notExtractable": "InvalidAccessError",
                             "badCurve": "NotSupportedError", "badUsage": "SyntaxError"}, json.dumps(out["errors"])
