"""The relay's sealing and safety codes against tests/vectors/seal.json (tests/js/seal.test.mjs runs the same in Node)."""

import json
from pathlib import Path

import pytest

from ephem.peer import seal

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "seal.json").read_text())


def member(name: str) -> seal.KeyPair:
    return seal.KeyPair.from_scalar(bytes.fromhex(VECTORS[name]["scalar"]))


def channel(me: str, them: str, enclave_id: str = VECTORS["enclave_id"]) -> seal.Channel:
    return seal.Channel(
        member(me), seal.unb64(VECTORS[them]["public"]), enclave_id, VECTORS[me]["account_id"], VECTORS[them]["account_id"]
    )


def test_the_public_keys_come_from_the_private_ones():
    assert member("alice").public_b64 == VECTORS["alice"]["public"]
    assert member("bob").public_b64 == VECTORS["bob"]["public"]


@pytest.mark.parametrize("sender, receiver, cases", [("alice", "bob", "alice_to_bob"), ("bob", "alice", "bob_to_alice")])
def test_frames_are_sealed_byte_for_byte_and_open_on_the_other_side(sender, receiver, cases):
    sealing, opening = channel(sender, receiver), channel(receiver, sender)
    for case in VECTORS[cases]:
        assert sealing.seal(case["plaintext"]) == case["frame"]
        assert opening.open(case["frame"]).decode() == case["plaintext"]


@pytest.mark.parametrize("case", VECTORS["rejected_by_bob"], ids=lambda c: c["name"])
def test_tampered_replayed_and_reordered_frames_are_refused(case):
    bob = channel("bob", "alice")
    for earlier in VECTORS["alice_to_bob"][: case["after"]]:
        bob.open(earlier["frame"])
    with pytest.raises(seal.SealError):
        bob.open(case["frame"])
    # and the refusal changed nothing: the next genuine frame still opens
    following = VECTORS["alice_to_bob"][case["after"]]
    assert bob.open(following["frame"]).decode() == following["plaintext"]


def test_a_frame_sealed_for_another_enclave_is_refused():
    other = channel("bob", "alice", VECTORS["wrong_enclave"])
    with pytest.raises(seal.SealError):
        other.open(VECTORS["alice_to_bob"][0]["frame"])


def test_keys_that_are_not_points_are_refused():
    with pytest.raises(seal.SealError):
        seal.Channel(member("alice"), b"\x04" + b"\x01" * 64, "E", "a", "b")
    with pytest.raises(seal.SealError):
        seal.Channel(member("alice"), b"\x04" * 10, "E", "a", "b")


def test_the_safety_code_is_the_same_from_both_sides_and_changes_with_a_swapped_key():
    safety = VECTORS["safety"]
    alice, bob = member("alice").public, member("bob").public
    code = seal.safety_code(alice, safety["alice_fingerprint"], bob, safety["bob_fingerprint"])
    assert code == safety["code"] == seal.safety_code(bob, safety["bob_fingerprint"], alice, safety["alice_fingerprint"])
    assert len(code.replace(" ", "")) == 12 and code.count(" ") == 2
    mallory = seal.unb64(safety["mallory_public"])
    swapped = seal.safety_code(alice, safety["alice_fingerprint"], mallory, safety["bob_fingerprint"])
    assert swapped == safety["code_with_bob_key_swapped"] != code
    other_dtls = seal.safety_code(alice, safety["alice_fingerprint"], bob, safety["alice_fingerprint"])
    assert other_dtls != code


@pytest.mark.parametrize("case", VECTORS["fingerprints"])
def test_the_dtls_fingerprint_is_read_from_the_sdp(case):
    assert seal.fingerprint_of(case["sdp"]) == case["fingerprint"]


def test_fresh_pairs_agree_and_each_direction_counts_on_its_own():
    a, b = seal.KeyPair.generate(), seal.KeyPair.generate()
    ab, ba = seal.Channel(a, b.public, "E", "A", "B"), seal.Channel(b, a.public, "E", "B", "A")
    assert ba.open(ab.seal("one")) == b"one"
    assert ab.open(ba.seal("uno")) == b"uno"
    assert ba.open(ab.seal("two")) == b"two"
