"""The host side of `crypto.subtle`: the runtime's SubtleCrypto (runner/js/edge/crypto.js) checks
arguments, keeps CryptoKey objects and their material, and asks the host for the cryptography
itself, with Python's hashlib and hmac. Bytes cross as base64.

    ["digest", "SHA-256", data]                 -> digest
    ["sign", "HMAC", "SHA-256", key, data]      -> signature
    ["verify", "HMAC", "SHA-256", key, signature, data] -> bool
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from ..errors import JSError

HASHES = {"SHA-1": "sha1", "SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}


def _bytes(value: Any, what: str) -> bytes:
    if not isinstance(value, str):
        raise JSError(f"crypto.subtle: {what} must be base64 text", name="OperationError")
    return base64.b64decode(value, validate=True)


def _hash(name: Any) -> str:
    algorithm = HASHES.get(str(name).upper())
    if algorithm is None:
        raise JSError(f"crypto.subtle: unsupported hash {name!r} (supported: {', '.join(HASHES)})",
                      name="NotSupportedError")
    return algorithm


class SubtleCrypto:
    """Answers the `subtle` capability: `await SubtleCrypto()(operation, *args)`."""

    def __call__(self, operation: str, *args: Any) -> Any:
        if operation == "digest" and len(args) == 2:
            return base64.b64encode(hashlib.new(_hash(args[0]), _bytes(args[1], "data")).digest()).decode()
        if operation in ("sign", "verify") and args and args[0] == "HMAC":
            if operation == "sign" and len(args) == 4:
                _, hash_name, key, data = args
                mac = hmac.new(_bytes(key, "the key"), _bytes(data, "data"), _hash(hash_name)).digest()
                return base64.b64encode(mac).decode()
            if operation == "verify" and len(args) == 5:
                _, hash_name, key, signature, data = args
                mac = hmac.new(_bytes(key, "the key"), _bytes(data, "data"), _hash(hash_name)).digest()
                return hmac.compare_digest(mac, _bytes(signature, "the signature"))
        raise JSError(f"crypto.subtle: the host does not support {operation!r} with these arguments",
                      name="NotSupportedError")
