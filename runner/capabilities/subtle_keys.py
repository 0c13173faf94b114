"""Asymmetric keys for `crypto.subtle` (subtle.py): generating them, and converting between the
formats WebCrypto imports and exports (spki, pkcs8, raw, jwk) and the one the runtime keeps (a
private key as PKCS #8 DER, a public key as SubjectPublicKeyInfo DER, base64 on the wire).
The runtime adds a JWK's `alg`, `key_ops` and `ext`; here are only the key's own members.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes

from ..errors import JSError

CURVES: dict[str, type[ec.EllipticCurve]] = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}
CURVE_NAMES = {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}  # the library's -> WebCrypto's
EC_ALGORITHMS = ("ECDSA", "ECDH")
RSA_ALGORITHMS = ("RSASSA-PKCS1-v1_5", "RSA-PSS", "RSA-OAEP")
OKP = ("Ed25519", "X25519")

PKCS8 = (serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
SPKI = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def data_error(message: str) -> JSError:
    return JSError(f"crypto.subtle: {message}", name="DataError")


def _b64(value: Any) -> bytes:
    if not isinstance(value, str):
        raise data_error("key data must be base64 text")
    return base64.b64decode(value, validate=True)


def _text(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _from_b64url(value: Any, member: str) -> bytes:
    if not isinstance(value, str):
        raise data_error(f"the JWK has no '{member}'")
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        raise data_error(f"the JWK's '{member}' is not base64url") from None


def _int(value: Any, member: str) -> int:
    return int.from_bytes(_from_b64url(value, member), "big")


def _uint(number: int, size: int | None = None) -> bytes:
    return number.to_bytes(size if size is not None else max(1, (number.bit_length() + 7) // 8), "big")


def _okp_public(name: str, raw: bytes) -> PublicKeyTypes:
    if name == "Ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    return x25519.X25519PublicKey.from_public_bytes(raw)


def private_key(der: bytes) -> PrivateKeyTypes:
    try:
        return serialization.load_der_private_key(der, password=None)
    except (ValueError, TypeError) as error:
        raise data_error(f"not a PKCS #8 private key ({error})") from None


def public_key(der: bytes) -> PublicKeyTypes:
    try:
        return serialization.load_der_public_key(der)
    except (ValueError, TypeError) as error:
        raise data_error(f"not a SubjectPublicKeyInfo public key ({error})") from None


def _details(algorithm: dict[str, Any], key: PrivateKeyTypes | PublicKeyTypes) -> dict[str, Any]:
    """Check that `key` is of `algorithm`'s kind; the algorithm members the key decides."""
    name = algorithm["name"]
    if name in EC_ALGORITHMS and isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        curve = CURVE_NAMES.get(key.curve.name)
        if curve is None or (algorithm.get("namedCurve") not in (None, curve)):
            raise data_error(f"the key's curve is not {algorithm.get('namedCurve')}")
        return {"namedCurve": curve}
    if name in RSA_ALGORITHMS and isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        numbers = key.public_key().public_numbers() if isinstance(key, rsa.RSAPrivateKey) else key.public_numbers()
        return {"modulusLength": key.key_size, "publicExponent": _text(_uint(numbers.e))}
    if name == "Ed25519" and isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return {}
    if name == "X25519" and isinstance(key, x25519.X25519PrivateKey | x25519.X25519PublicKey):
        return {}
    raise data_error(f"the key is not a {name} key")


def generate_key(algorithm: dict[str, Any]) -> dict[str, str]:
    name = algorithm["name"]
    key: PrivateKeyTypes
    if name in EC_ALGORITHMS:
        curve = CURVES.get(str(algorithm.get("namedCurve")))
        if curve is None:
            raise JSError(f"crypto.subtle: unsupported namedCurve {algorithm.get('namedCurve')!r} "
                          f"(supported: {', '.join(CURVES)})", name="NotSupportedError")
        key = ec.generate_private_key(curve())
    elif name in RSA_ALGORITHMS:
        exponent = int.from_bytes(_b64(algorithm.get("publicExponent")), "big")
        bits = int(algorithm.get("modulusLength", 0))
        if exponent not in (3, 65537) or bits < 1024 or bits % 8:
            raise JSError("crypto.subtle: RSA keys need publicExponent 3 or 65537 and a modulusLength of at least "
                          "1024 bits, a multiple of 8", name="OperationError")
        key = rsa.generate_private_key(exponent, bits)
    elif name == "Ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    elif name == "X25519":
        key = x25519.X25519PrivateKey.generate()
    else:
        raise JSError(f"crypto.subtle: cannot generate {name} keys", name="NotSupportedError")
    return {"private": _text(key.private_bytes(*PKCS8)), "public": _text(key.public_key().public_bytes(*SPKI))}


def import_key(format: str, algorithm: dict[str, Any], data: Any) -> dict[str, Any]:
    name = algorithm["name"]
    key: PrivateKeyTypes | PublicKeyTypes
    if format == "spki":
        key = public_key(_b64(data))
    elif format == "pkcs8":
        key = private_key(_b64(data))
    elif format == "raw":
        raw = _b64(data)
        try:
            if name in EC_ALGORITHMS:
                curve = CURVES.get(str(algorithm.get("namedCurve")))
                if curve is None:
                    raise JSError(f"crypto.subtle: unsupported namedCurve {algorithm.get('namedCurve')!r}",
                                  name="NotSupportedError")
                key = ec.EllipticCurvePublicKey.from_encoded_point(curve(), raw)
            elif name in OKP:
                key = _okp_public(name, raw)
            else:
                raise JSError(f"crypto.subtle: {name} keys do not import from 'raw'", name="NotSupportedError")
        except ValueError as error:
            raise data_error(f"not a raw {name} public key ({error})") from None
    elif format == "jwk":
        key = _from_jwk(name, algorithm, data)
    else:
        raise JSError(f"crypto.subtle: unknown key format {format!r}", name="NotSupportedError")
    details = _details(algorithm, key)
    if isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey
                  | x25519.X25519PrivateKey):
        return {"type": "private", "der": _text(key.private_bytes(*PKCS8)), **details}
    if isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey | ed25519.Ed25519PublicKey
                  | x25519.X25519PublicKey):
        return {"type": "public", "der": _text(key.public_bytes(*SPKI)), **details}
    raise data_error(f"the key is not a {name} key")


def _from_jwk(name: str, algorithm: dict[str, Any], jwk: Any) -> PrivateKeyTypes | PublicKeyTypes:
    if not isinstance(jwk, dict):
        raise data_error("a JWK must be an object")
    kty = jwk.get("kty")
    try:
        if name in EC_ALGORITHMS:
            curve = CURVES.get(str(jwk.get("crv")))
            if kty != "EC" or curve is None or jwk.get("crv") != algorithm.get("namedCurve"):
                raise data_error(f"the JWK is not an EC key on {algorithm.get('namedCurve')}")
            public = ec.EllipticCurvePublicNumbers(_int(jwk.get("x"), "x"), _int(jwk.get("y"), "y"), curve())
            if "d" in jwk:
                return ec.EllipticCurvePrivateNumbers(_int(jwk["d"], "d"), public).private_key()
            return public.public_key()
        if name in RSA_ALGORITHMS:
            if kty != "RSA":
                raise data_error("the JWK is not an RSA key")
            public_numbers = rsa.RSAPublicNumbers(_int(jwk.get("e"), "e"), _int(jwk.get("n"), "n"))
            if "d" in jwk:
                members = [_int(jwk.get(m), m) for m in ("d", "p", "q", "dp", "dq", "qi")]
                d, p, q, dp, dq, qi = members
                return rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, public_numbers).private_key()
            return public_numbers.public_key()
        if name in OKP:
            if kty != "OKP" or jwk.get("crv") != name:
                raise data_error(f"the JWK is not an OKP key on {name}")
            if "d" in jwk:
                seed = _from_b64url(jwk["d"], "d")
                if name == "Ed25519":
                    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)
                return x25519.X25519PrivateKey.from_private_bytes(seed)
            return _okp_public(name, _from_b64url(jwk.get("x"), "x"))
    except ValueError as error:
        raise data_error(f"the JWK is not a valid {name} key ({error})") from None
    raise JSError(f"crypto.subtle: {name} keys do not import from 'jwk' here", name="NotSupportedError")


def export_key(format: str, algorithm: dict[str, Any], type: str, der_text: str) -> Any:
    der = _b64(der_text)
    if format == "spki" and type == "public":
        return _text(der)
    if format == "pkcs8" and type == "private":
        return _text(der)
    if format == "raw" and type == "public":
        key = public_key(der)
        if isinstance(key, ec.EllipticCurvePublicKey):
            return _text(key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint))
        if isinstance(key, ed25519.Ed25519PublicKey | x25519.X25519PublicKey):
            return _text(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    if format == "jwk":
        return _to_jwk(private_key(der) if type == "private" else public_key(der))
    raise JSError(f"crypto.subtle: a {type} {algorithm['name']} key does not export as {format!r}",
                  name="InvalidAccessError")


def _to_jwk(key: PrivateKeyTypes | PublicKeyTypes) -> dict[str, str]:
    if isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
        size = (public.curve.key_size + 7) // 8
        numbers = public.public_numbers()
        jwk = {"kty": "EC", "crv": CURVE_NAMES[public.curve.name],
               "x": _b64url(_uint(numbers.x, size)), "y": _b64url(_uint(numbers.y, size))}
        if isinstance(key, ec.EllipticCurvePrivateKey):
            jwk["d"] = _b64url(_uint(key.private_numbers().private_value, size))
        return jwk
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        pub = key.public_key().public_numbers() if isinstance(key, rsa.RSAPrivateKey) else key.public_numbers()
        jwk = {"kty": "RSA", "n": _b64url(_uint(pub.n)), "e": _b64url(_uint(pub.e))}
        if isinstance(key, rsa.RSAPrivateKey):
            priv = key.private_numbers()
            jwk.update({m: _b64url(_uint(v)) for m, v in (("d", priv.d), ("p", priv.p), ("q", priv.q),
                                                          ("dp", priv.dmp1), ("dq", priv.dmq1), ("qi", priv.iqmp))})
        return jwk
    raw = serialization.Encoding.Raw
    if isinstance(key, ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey):
        crv = "Ed25519" if isinstance(key, ed25519.Ed25519PrivateKey) else "X25519"
        public_bytes = key.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
        private_bytes = key.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        return {"kty": "OKP", "crv": crv, "x": _b64url(public_bytes), "d": _b64url(private_bytes)}
    if isinstance(key, ed25519.Ed25519PublicKey | x25519.X25519PublicKey):
        crv = "Ed25519" if isinstance(key, ed25519.Ed25519PublicKey) else "X25519"
        return {"kty": "OKP", "crv": crv,
                "x": _b64url(key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))}
    raise data_error("this key does not export as a JWK")
