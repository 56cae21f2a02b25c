"""SM2 signatures against the standard's worked example and round trips (SEC-9)."""

from __future__ import annotations

import pytest

from gongshu.protect import sm2

# GB/T 32918.2-2016 Annex A.2 (= GM/T 0003.2-2012 Annex A.2): the digital signature
# example over the 256-bit test curve F_p-256, message "message digest", user id
# "ALICE123@YAHOO.COM", with the given private key d and random k.
EXAMPLE_CURVE = sm2.Curve(
    p=0x8542D69E4C044F18E8B92435BF6FF7DE457283915C45517D722EDB8B08F1DFC3,
    a=0x787968B4FA32C3FD2417842E73BBFEFF2F3C848B6831D7E0EC65228B3937E498,
    b=0x63E4C6D3B23B0C849CF84241484BFE48F61D59A5B16BA06E6E12D1DA27C5249A,
    gx=0x421DEBD61B62EAB6746434EBC3CC315E32220B3BADD50BDC4C4E6C147FEDD43D,
    gy=0x0680512BCBB42C07D47349D2153B70C4E5D7FDFCBFA36EA1A85841B9E46E09A2,
    n=0x8542D69E4C044F18E8B92435BF6FF7DD297720630485628D5AE74EE7C32E79B7,
)
D = bytes.fromhex("128B2FA8BD433C6C068C8D803DFF79792A519A55171B1B650C23661D15897263")
PUBLIC = bytes.fromhex(
    "04"
    "0AE4C7798AA0F119471BEE11825BE46202BB79E2A5844495E97C04FF4DF2548A"
    "7C0240F88F1CD4E16352A73C17B7F16F07353E53A176D684A9FE0C6BB798E857"
)
ID = b"ALICE123@YAHOO.COM"
MESSAGE = b"message digest"
Z = "F4A38489E32B45B6F876E3AC2168CA392362DC8F23459C1D1146FC3DBFB7BC9A"
E = "B524F552CD82B8B028476E005C377FB19A87E6FC682D48BB5D42E3D9B9EFFE76"
K = 0x6CB28D99385C175C94F94E934817663FC176D925DD72B727260DBAAE1FB2F96F
R = "40F1EC59F793D9F49E09DCEF49130D4194F79FB1EED2CAA55BACDB49C4E755D1"
S = "6FC6DAC32C5D5CF10C77DFB20F7C2EB667A457872FB09EC56327A67EC7DEEBE7"


def test_the_standard_example_step_by_step() -> None:
    assert sm2.public_key(D, EXAMPLE_CURVE) == PUBLIC
    assert sm2.z_value(PUBLIC, ID, EXAMPLE_CURVE).hex().upper() == Z
    assert sm2.message_digest(MESSAGE, PUBLIC, ID, EXAMPLE_CURVE).hex().upper() == E
    signature = sm2.sign(D, MESSAGE, user_id=ID, curve=EXAMPLE_CURVE, k=K)
    assert signature.hex().upper() == R + S
    assert sm2.verify(PUBLIC, MESSAGE, signature, user_id=ID, curve=EXAMPLE_CURVE)


def test_the_example_signature_fails_on_any_change() -> None:
    signature = bytes.fromhex(R + S)
    assert not sm2.verify(PUBLIC, b"message digesT", signature, user_id=ID, curve=EXAMPLE_CURVE)
    assert not sm2.verify(PUBLIC, MESSAGE, signature, user_id=b"BOB", curve=EXAMPLE_CURVE)
    bad = bytearray(signature)
    bad[5] ^= 1
    assert not sm2.verify(PUBLIC, MESSAGE, bytes(bad), user_id=ID, curve=EXAMPLE_CURVE)
    zero = bytes(32) + signature[32:]
    assert not sm2.verify(PUBLIC, MESSAGE, zero, user_id=ID, curve=EXAMPLE_CURVE)


def test_recommended_curve_round_trip_with_the_default_user_id() -> None:
    d = sm2.generate_private_key()
    pub = sm2.public_key(d)
    signature = sm2.sign(d, b"report digest")
    assert len(signature) == 64
    assert sm2.verify(pub, b"report digest", signature)
    assert not sm2.verify(pub, b"report digest!", signature)
    other = sm2.public_key(sm2.generate_private_key())
    assert not sm2.verify(other, b"report digest", signature)
    # Two signatures of one message differ (fresh k) and both verify.
    assert sm2.sign(d, b"x") != sm2.sign(d, b"x")


def test_recommended_curve_generator_is_on_the_curve_and_pem_round_trips() -> None:
    c = sm2.RECOMMENDED
    assert c.on_curve(c.gx, c.gy)
    pub = sm2.public_key(sm2.generate_private_key())
    pem = sm2.public_pem(pub)
    assert pem.startswith("-----BEGIN PUBLIC KEY-----")
    assert sm2.public_from_pem(pem) == pub


def test_a_point_off_the_curve_is_refused() -> None:
    pub = bytearray(sm2.public_key(sm2.generate_private_key()))
    pub[-1] ^= 1
    with pytest.raises(sm2.InvalidKey):
        sm2.z_value(bytes(pub))
    assert not sm2.verify(bytes(pub), b"x", bytes(64))


def test_a_public_key_whose_x_begins_with_04_verifies() -> None:
    # gmssl's constructor strips a leading "04" with lstrip("04"), which also ate the
    # first digits of x = 04b3… (d = 11): verification crashed for 1 key in 256.
    private = (11).to_bytes(32, "big")
    public = sm2.public_key(private)
    assert public[1:3].hex() == "04b3"
    signature = sm2.sign(private, b"checkpoint")
    assert sm2.verify(public, b"checkpoint", signature)
    assert not sm2.verify(public, b"checkpoint!", signature)


def test_the_fast_verifier_agrees_with_the_reference() -> None:
    """gmalglib (C) and gmssl (pure Python) give the same verdict on the recommended
    curve: good signatures, another message, another key, another user id, a flipped
    bit in r or s."""
    other = sm2.public_key(sm2.generate_private_key())
    for i in range(12):
        private = sm2.generate_private_key()
        public = sm2.public_key(private)
        message = f"checkpoint {i}".encode()
        good = sm2.sign(private, message)
        flipped = bytearray(good)
        flipped[i % 64] ^= 0x10
        cases = [
            (public, message, good, sm2.DEFAULT_USER_ID),
            (public, message + b"!", good, sm2.DEFAULT_USER_ID),
            (other, message, good, sm2.DEFAULT_USER_ID),
            (public, message, good, b"another-user-id"),
            (public, message, bytes(flipped), sm2.DEFAULT_USER_ID),
        ]
        verdicts = []
        for pub, msg, sig, uid in cases:
            fast = sm2.verify(pub, msg, sig, user_id=uid)
            assert fast == sm2.verify_reference(pub, msg, sig, user_id=uid), (i, msg, uid)
            verdicts.append(fast)
        assert verdicts[0] and not any(verdicts[1:3]) and not verdicts[3]
