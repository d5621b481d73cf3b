import pytest

from channels.identity import IdentityError, sign_identity, verify_identity

SECRET = "s3cret-for-tests"


def test_round_trip_keeps_the_payload():
    token = sign_identity({"customer_id": "C0001", "product_id": "P5001"}, SECRET, now=1000)
    payload = verify_identity(token, SECRET, now=1001)
    assert payload["customer_id"] == "C0001" and payload["product_id"] == "P5001"


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature changed
    lambda t: t.replace(t.split(".")[0], t.split(".")[0][:-1] + "x"),  # payload changed
    lambda t: t + ".extra",
    lambda t: "",
    lambda t: None,
    lambda t: 42,
])
def test_tampered_or_malformed_tokens_are_refused(mangle):
    token = sign_identity({"customer_id": "C0001"}, SECRET, now=1000)
    with pytest.raises(IdentityError):
        verify_identity(mangle(token), SECRET, now=1001)


def test_another_secret_expired_or_too_long_lived_tokens_are_refused():
    token = sign_identity({"customer_id": "C0001"}, SECRET, ttl_seconds=60, now=1000)
    with pytest.raises(IdentityError):
        verify_identity(token, "other-secret", now=1001)
    with pytest.raises(IdentityError):
        verify_identity(token, SECRET, now=1061)
    forever = sign_identity({"customer_id": "C0001"}, SECRET, ttl_seconds=10**9, now=1000)
    with pytest.raises(IdentityError):
        verify_identity(forever, SECRET, now=1001)
    with pytest.raises(IdentityError):
        sign_identity({"customer_id": "C0001"}, "", now=1000)
