"""Signing is guarded from outside: Binance's documented HMAC vectors, and RSA/Ed25519 round
trips with keys generated at test time (the docs' RSA/Ed25519 examples are not verifiable)."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from keyprobe.binance.signing import (
    KeyMaterialError,
    KeyType,
    decode_signature_value,
    encode_params,
    generate_key_material,
    hmac_sha256_hex,
    load_signer,
    load_verifier,
    signature_payload,
    strip_signature,
)

DOC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"

# Reference §3.3: payload -> signature, from Binance's REST docs (the last one from the WS docs).
HMAC_VECTORS = [
    (
        "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
        "&recvWindow=5000&timestamp=1499827319559",
        "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71",
    ),
    (
        "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY&type=LIMIT"
        "&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559",
        "e1353ec6b14d888f1164ae9af8228a3dbd508bc82eb867db8ab6046442f33ef3",
    ),
    (
        "apiKey=vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A&price=52000.00"
        "&quantity=0.01000000&recvWindow=100&side=SELL&symbol=BTCUSDT&timeInForce=GTC"
        "&timestamp=1645423376532&type=LIMIT",
        "aa1b5712c094bc4e57c05a1a5c1fd8d88dcd628338ea863fec7b88e59fe2db24",
    ),
]


@pytest.mark.parametrize(("payload", "expected"), HMAC_VECTORS)
def test_hmac_documented_vectors(payload: str, expected: str) -> None:
    assert hmac_sha256_hex(DOC_SECRET, payload.encode()) == expected
    signer = load_signer(KeyType.HMAC, DOC_SECRET)
    assert signer.sign(payload.encode()) == expected


def test_query_and_body_join_without_separator() -> None:
    # The legacy docs' "Example 3": there is no & between "GTC" and "quantity=1".
    query = b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
    body = b"quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559&signature=abc"
    payload = signature_payload(query, body)
    assert b"GTCquantity=1" in payload
    expected = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"
    assert hmac_sha256_hex(DOC_SECRET, payload) == expected


def test_percent_encoded_payload_is_what_is_signed() -> None:
    encoded = encode_params([("symbol", "１２３４５６"), ("side", "BUY")])
    assert encoded == "symbol=%EF%BC%91%EF%BC%92%EF%BC%93%EF%BC%94%EF%BC%95%EF%BC%96&side=BUY"


def test_strip_signature_keeps_order_and_encoding() -> None:
    rest, sigs = strip_signature(b"a=%2F1&signature=x%2By&b=2")
    assert rest == b"a=%2F1&b=2"
    assert sigs == [b"x%2By"]


def test_hmac_verification_is_case_insensitive() -> None:
    verifier = load_verifier(KeyType.HMAC, DOC_SECRET)
    payload, signature = HMAC_VECTORS[0]
    assert verifier.verify(payload.encode(), signature.upper())
    assert not verifier.verify(payload.encode() + b"x", signature)


@pytest.mark.parametrize("key_type", [KeyType.HMAC, KeyType.RSA, KeyType.ED25519])
def test_non_ascii_signature_is_just_wrong(key_type: KeyType) -> None:
    # Found by fuzzing: hmac.compare_digest raised TypeError on "é" (a 500 instead of -1022).
    material = generate_key_material(key_type)
    verifier = load_verifier(key_type, material.public)
    for garbage in ("é", "\u00e9" * 64, "\U0001f600", "a\x00b"):
        assert not verifier.verify(b"timestamp=1", garbage)


@pytest.mark.parametrize("key_type", [KeyType.RSA, KeyType.ED25519])
def test_asymmetric_round_trip(key_type: KeyType) -> None:
    material = generate_key_material(key_type)
    signer = load_signer(key_type, material.private)
    verifier = load_verifier(key_type, material.public)
    payload = encode_params([("symbol", "这是测试币456"), ("timestamp", "1")]).encode()
    signature = signer.sign(payload)
    assert len(base64.b64decode(signature)) == (64 if key_type is KeyType.ED25519 else 256)
    # As it travels: percent-encoded on the wire, form-decoded by the server.
    on_wire = quote(signature, safe="").encode()
    assert verifier.verify(payload, decode_signature_value(on_wire))
    assert not verifier.verify(payload + b"&x=1", decode_signature_value(on_wire))
    # An unencoded '+' becomes a space on the server and must not verify.
    if "+" in signature:
        assert not verifier.verify(payload, decode_signature_value(signature.encode()))


def test_rsa_signature_is_pkcs1v15_sha256() -> None:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    material = generate_key_material(KeyType.RSA)
    signature = base64.b64decode(load_signer(KeyType.RSA, material.private).sign(b"payload"))
    public = serialization.load_pem_public_key(material.public.encode())
    assert isinstance(public, rsa.RSAPublicKey)
    public.verify(signature, b"payload", padding.PKCS1v15(), hashes.SHA256())  # raises if not


def test_rsa_outside_2048_to_4096_bits_is_refused() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - on purpose
    pem = small.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyMaterialError, match="2048 to 4096"):
        load_verifier(KeyType.RSA, pem.decode())


def test_wrong_algorithm_and_garbage_pem_are_refused() -> None:
    ed = generate_key_material(KeyType.ED25519)
    with pytest.raises(KeyMaterialError, match="not an RSA key"):
        load_verifier(KeyType.RSA, ed.public)
    with pytest.raises(KeyMaterialError, match="not a readable"):
        load_verifier(KeyType.ED25519, "-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----")


def test_crlf_pem_is_accepted() -> None:
    material = generate_key_material(KeyType.ED25519)
    signer = load_signer(KeyType.ED25519, material.private.replace("\n", "\r\n"))
    verifier = load_verifier(KeyType.ED25519, material.public.replace("\n", "\r\n"))
    assert verifier.verify(b"x", signer.sign(b"x"))


def test_reprs_hide_key_material() -> None:
    material = generate_key_material(KeyType.HMAC)
    for obj in (material, load_signer(KeyType.HMAC, material.private)):
        assert material.private not in repr(obj)
