"""The server's own HS256 signer writes tokens that standard verifiers accept, and only
under the secret they were signed with."""

from __future__ import annotations

import jwt
import pytest
from callpad.signing import sign_hs256


def test_a_signed_token_verifies_with_pyjwt_and_carries_its_claims() -> None:
    claims = {"sub": "42", "exp": 4_102_444_800, "video": {"room": "r", "roomJoin": True}}
    token = sign_hs256(claims, "a-secret-of-at-least-thirty-two-bytes!")
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    decoded = jwt.decode(token, "a-secret-of-at-least-thirty-two-bytes!", algorithms=["HS256"])
    assert decoded == claims


def test_a_token_does_not_verify_under_another_secret() -> None:
    token = sign_hs256({"sub": "42"}, "a-secret-of-at-least-thirty-two-bytes!")
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-of-at-least-thirty-two-b", algorithms=["HS256"])
