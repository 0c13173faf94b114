"""The host side of `crypto.subtle`: the runtime's SubtleCrypto (runner/js/edge/crypto.js) checks
arguments, normalises algorithms and keeps CryptoKey objects and their material, and asks the host
for the cryptography itself: digests and HMAC with Python's hashlib and hmac, everything else with
the `cryptography` package. The host keeps no state: each call carries its key. Bytes cross as
base64; a secret key is its raw bytes, a private key PKCS #8 DER, a public key SubjectPublicKeyInfo
DER (key formats and JWK: subtle_keys.py).

    ["digest", hash, data]                         -> digest
    ["sign", algorithm, key, data]                 -> signature
    ["verify", algorithm, key, signature, data]    -> bool
    ["encrypt" | "decrypt", algorithm, key, data]  -> bytes
    ["deriveBits", algorithm, key, length]         -> bits (ECDH/X25519: algorithm.public, SPKI)
    ["generateKey", algorithm]                     -> {private, public}
    ["importKey", format, algorithm, data]         -> {type, der, ...algorithm details}
    ["exportKey", format, algorithm, type, der]    -> bytes or a JWK

`algorithm` is the runtime's normalised dictionary: `name`, a `hash` name, and its BufferSource
members (iv, counter, additionalData, salt, info, label) as base64.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from ..errors import JSError
from .subtle_keys import CURVES, export_key, generate_key, import_key, private_key, public_key

HASHES = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
HASH_CLASSES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA-1": hashes.SHA1, "SHA-256": hashes.SHA256, "SHA-384": hashes.SHA384, "SHA-512": hashes.SHA512}


def operation_error(message: str) -> JSError:
    return JSError(f"crypto.subtle: {message}", name="OperationError")


def unsupported(message: str) -> JSError:
    return JSError(f"crypto.subtle: {message}", name="NotSupportedError")


def b64(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise operation_error(f"{what} must be base64 text")
    return base64.b64decode(value, validate=True)


def text(data: bytes) -> str:
    return base64.b64encode(data).decode()


def hash_name(algorithm: dict[str, Any]) -> str:
    name = str(algorithm.get("hash", "")).upper()
    if name not in HASHES:
        raise unsupported(f"unsupported hash {algorithm.get('hash')!r} (supported: {', '.join(HASHES)})")
    return name


def hash_of(algorithm: dict[str, Any]) -> hashes.HashAlgorithm:
    return HASH_CLASSES[hash_name(algorithm)]()


def _digest(name: Any, data: Any) -> str:
    return text(hashlib.new(HASHES[hash_name({"hash": name})], b64(data, "data")).digest())


def _pss(algorithm: dict[str, Any]) -> padding.AsymmetricPadding:
    return padding.PSS(mgf=padding.MGF1(hash_of(algorithm)), salt_length=int(algorithm.get("saltLength", 0)))


def _sign(algorithm: dict[str, Any], key: Any, data: Any) -> str:
    name, message = algorithm["name"], b64(data, "data")
    if name == "HMAC":
        return text(hmac.new(b64(key, "the key"), message, HASHES[hash_name(algorithm)]).digest())
    signer = private_key(b64(key, "the key"))
    if name == "ECDSA" and isinstance(signer, ec.EllipticCurvePrivateKey):
        # WebCrypto's ECDSA signature is r || s, each the curve's size; the library's is DER.
        r, s = decode_dss_signature(signer.sign(message, ec.ECDSA(hash_of(algorithm))))
        size = (signer.curve.key_size + 7) // 8
        return text(r.to_bytes(size, "big") + s.to_bytes(size, "big"))
    if name == "Ed25519" and isinstance(signer, ed25519.Ed25519PrivateKey):
        return text(signer.sign(message))
    if name == "RSASSA-PKCS1-v1_5" and isinstance(signer, rsa.RSAPrivateKey):
        return text(signer.sign(message, padding.PKCS1v15(), hash_of(algorithm)))
    if name == "RSA-PSS" and isinstance(signer, rsa.RSAPrivateKey):
        return text(signer.sign(message, _pss(algorithm), hash_of(algorithm)))
    raise unsupported(f"cannot sign with {name}")


def _verify(algorithm: dict[str, Any], key: Any, signature: Any, data: Any) -> bool:
    name, message, sig = algorithm["name"], b64(data, "data"), b64(signature, "the signature")
    if name == "HMAC":
        return hmac.compare_digest(hmac.new(b64(key, "the key"), message, HASHES[hash_name(algorithm)]).digest(), sig)
    verifier = public_key(b64(key, "the key"))
    try:
        if name == "ECDSA" and isinstance(verifier, ec.EllipticCurvePublicKey):
            size = (verifier.curve.key_size + 7) // 8
            if len(sig) != 2 * size:
                return False
            der = encode_dss_signature(int.from_bytes(sig[:size], "big"), int.from_bytes(sig[size:], "big"))
            verifier.verify(der, message, ec.ECDSA(hash_of(algorithm)))
        elif name == "Ed25519" and isinstance(verifier, ed25519.Ed25519PublicKey):
            verifier.verify(sig, message)
        elif name == "RSASSA-PKCS1-v1_5" and isinstance(verifier, rsa.RSAPublicKey):
            verifier.verify(sig, message, padding.PKCS1v15(), hash_of(algorithm))
        elif name == "RSA-PSS" and isinstance(verifier, rsa.RSAPublicKey):
            verifier.verify(sig, message, _pss(algorithm), hash_of(algorithm))
        else:
            raise unsupported(f"cannot verify with {name}")
    except InvalidSignature:
        return False
    return True


def _aes(algorithm: dict[str, Any], key: bytes, data: bytes, encrypt: bool) -> bytes:
    name = algorithm["name"]
    if name == "AES-GCM":
        iv = b64(algorithm.get("iv"), "iv")
        tag_length = int(algorithm.get("tagLength", 128))
        if tag_length not in (32, 64, 96, 104, 112, 120, 128):
            raise operation_error(f"AES-GCM tagLength {tag_length} is not valid")
        aad = b64(algorithm["additionalData"], "additionalData") if "additionalData" in algorithm else None
        if len(iv) == 0:
            raise operation_error("AES-GCM needs a non-empty iv")
        if tag_length == 128:
            gcm = AESGCM(key)
            try:
                return gcm.encrypt(iv, data, aad) if encrypt else gcm.decrypt(iv, data, aad)
            except InvalidTag:
                raise operation_error("AES-GCM decryption failed (the data or its tag is not authentic)") from None
        return _gcm_short_tag(key, iv, aad, data, tag_length // 8, encrypt)
    if name == "AES-CBC":
        iv = b64(algorithm.get("iv"), "iv")
        if len(iv) != 16:
            raise operation_error("AES-CBC needs a 16-byte iv")
        cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
        if encrypt:
            pad = 16 - len(data) % 16
            encryptor = cipher.encryptor()
            return encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()
        if len(data) == 0 or len(data) % 16:
            raise operation_error("AES-CBC: the data is not a whole number of blocks")
        decryptor = cipher.decryptor()
        plain = decryptor.update(data) + decryptor.finalize()
        pad = plain[-1]
        if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
            raise operation_error("AES-CBC: bad padding")
        return plain[:-pad]
    if name == "AES-CTR":
        counter = b64(algorithm.get("counter"), "counter")
        length = int(algorithm.get("length", 0))
        if len(counter) != 16 or not 1 <= length <= 128:
            raise operation_error("AES-CTR needs a 16-byte counter and a length from 1 to 128")
        if len(data) > 16 * (1 << min(length, 64)):
            raise operation_error("AES-CTR: the data is longer than the counter allows")
        return _ctr(key, counter, length, data)
    raise unsupported(f"cannot encrypt with {name}")


def _ctr(key: bytes, counter: bytes, length: int, data: bytes) -> bytes:
    """AES-CTR where only the rightmost `length` bits of the counter block count (and wrap)."""
    value = int.from_bytes(counter, "big")
    mask = (1 << length) - 1
    fixed, low = value & ~mask, value & mask
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    blocks = [(fixed | ((low + i) & mask)).to_bytes(16, "big") for i in range((len(data) + 15) // 16)]
    stream = encryptor.update(b"".join(blocks)) + encryptor.finalize()
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))


def _gcm_short_tag(key: bytes, iv: bytes, aad: bytes | None, data: bytes, tag_bytes: int, encrypt: bool) -> bytes:
    """AES-GCM with a tag shorter than 16 bytes (the library's AEAD API takes only full tags)."""
    if encrypt:
        encryptor = Cipher(algorithms.AES(key), modes.GCM(iv)).encryptor()
        if aad:
            encryptor.authenticate_additional_data(aad)
        out = encryptor.update(data) + encryptor.finalize()
        return out + encryptor.tag[:tag_bytes]
    if len(data) < tag_bytes:
        raise operation_error("AES-GCM: the data is shorter than its tag")
    body, tag = data[:-tag_bytes], data[-tag_bytes:]
    decryptor = Cipher(algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=4)).decryptor()
    if aad:
        decryptor.authenticate_additional_data(aad)
    try:
        return decryptor.update(body) + decryptor.finalize()
    except InvalidTag:
        raise operation_error("AES-GCM decryption failed (the data or its tag is not authentic)") from None


def _crypt(algorithm: dict[str, Any], key: Any, data: Any, encrypt: bool) -> str:
    payload = b64(data, "data")
    if algorithm["name"] == "RSA-OAEP":
        label = b64(algorithm["label"], "label") if "label" in algorithm else None
        oaep = padding.OAEP(mgf=padding.MGF1(hash_of(algorithm)), algorithm=hash_of(algorithm), label=label or None)
        try:
            if encrypt:
                target = public_key(b64(key, "the key"))
                if not isinstance(target, rsa.RSAPublicKey):
                    raise unsupported("RSA-OAEP needs an RSA key")
                return text(target.encrypt(payload, oaep))
            holder = private_key(b64(key, "the key"))
            if not isinstance(holder, rsa.RSAPrivateKey):
                raise unsupported("RSA-OAEP needs an RSA key")
            return text(holder.decrypt(payload, oaep))
        except ValueError as error:
            raise operation_error(f"RSA-OAEP: {error}") from None
    return text(_aes(algorithm, b64(key, "the key"), payload, encrypt))


def _derive_bits(algorithm: dict[str, Any], key: Any, length: Any) -> str:
    name = algorithm["name"]
    material = b64(key, "the key")
    if name in ("ECDH", "X25519"):
        mine, theirs = private_key(material), public_key(b64(algorithm.get("public"), "the public key"))
        if isinstance(mine, ec.EllipticCurvePrivateKey) and isinstance(theirs, ec.EllipticCurvePublicKey):
            if mine.curve.name != theirs.curve.name:
                raise JSError("crypto.subtle: ECDH keys on different curves", name="InvalidAccessError")
            secret = mine.exchange(ec.ECDH(), theirs)
        elif isinstance(mine, x25519.X25519PrivateKey) and isinstance(theirs, x25519.X25519PublicKey):
            secret = mine.exchange(theirs)
            if secret == bytes(32):
                raise operation_error("X25519: the shared secret is all zeros (a small-order public key)")
        else:
            raise JSError(f"crypto.subtle: {name} needs two keys of its kind", name="InvalidAccessError")
        if length is None:
            return text(secret)
        bits = int(length)
        if bits > len(secret) * 8:
            raise operation_error(f"{name}: {bits} bits asked, the secret has {len(secret) * 8}")
        return text(_truncate(secret, bits))
    if length is None or int(length) % 8:
        raise operation_error(f"{name}: the length must be a multiple of 8")
    size = int(length) // 8
    if name == "PBKDF2":
        iterations = int(algorithm.get("iterations", 0))
        if iterations <= 0:
            raise operation_error("PBKDF2: iterations must be positive")
        if size == 0:
            return ""
        kdf = PBKDF2HMAC(hash_of(algorithm), size, b64(algorithm.get("salt"), "salt"), iterations)
        return text(kdf.derive(material))
    if name == "HKDF":
        if size == 0:
            return ""
        try:
            salt, info = b64(algorithm.get("salt"), "salt"), b64(algorithm.get("info"), "info")
            return text(HKDF(hash_of(algorithm), size, salt, info).derive(material))
        except ValueError as error:
            raise operation_error(f"HKDF: {error}") from None
    raise unsupported(f"cannot derive bits with {name}")


def _truncate(secret: bytes, bits: int) -> bytes:
    out = bytearray(secret[:(bits + 7) // 8])
    if bits % 8:
        out[-1] &= (0xFF << (8 - bits % 8)) & 0xFF
    return bytes(out)


OPERATIONS: dict[str, Callable[..., Any]] = {
    "digest": _digest,
    "sign": _sign,
    "verify": _verify,
    "encrypt": lambda algorithm, key, data: _crypt(algorithm, key, data, True),
    "decrypt": lambda algorithm, key, data: _crypt(algorithm, key, data, False),
    "deriveBits": _derive_bits,
    "generateKey": generate_key,
    "importKey": import_key,
    "exportKey": export_key,
}

#: operations slow enough (RSA key generation, PBKDF2) to run off the event loop
SLOW = {"generateKey", "deriveBits"}


class SubtleCrypto:
    """Answers the `subtle` capability: `await SubtleCrypto()(operation, *args)`."""

    async def __call__(self, operation: str, *args: Any) -> Any:
        handler = OPERATIONS.get(operation)
        if handler is None:
            raise unsupported(f"the host does not support {operation!r}")

        def run() -> Any:
            try:
                return handler(*args)
            except JSError:
                raise
            except (TypeError, KeyError, IndexError) as error:
                raise unsupported(f"{operation}: arguments the host does not take ({error})") from None
            except ValueError as error:
                raise operation_error(f"{operation}: {error}") from None

        return await asyncio.to_thread(run) if operation in SLOW else run()


__all__ = ["CURVES", "SubtleCrypto"]
