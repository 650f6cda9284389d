"""End-to-end sealing for the relay rung, and safety codes (twin of `assets/ephem/seal.js`).

Each member has an ECDH P-256 key pair; two members derive one AES-256-GCM
key per pair: HKDF-SHA256 over the ECDH secret, salted with both public keys
in a canonical order and bound to the enclave. A frame is

    version (1 byte, 1) | counter (8 bytes, big-endian) | ciphertext and tag

sent as base64. The nonce is the sender's direction byte (0 for the member
whose public key sorts first), three zero bytes and the counter, so each
direction counts on its own and no nonce is ever used twice; the additional
data binds the enclave and both account ids. A receiver takes only counters
above the last one it opened in that direction: a replayed or reordered frame
is refused, as is any flipped byte. The server sees public keys (it carries
them) but cannot read a frame; whether it swapped a key shows in the safety
code, which both members compute from both public keys and both DTLS
fingerprints and can compare out of band.
"""

import base64
import hashlib
import re

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

VERSION = 1
LABEL = b"ephem-relay-v1"
SAFETY_LABEL = b"ephem-safety-v1"
PUBLIC_LEN = 65  # an uncompressed P-256 point
HEADER = 1 + 8
MAX_COUNTER = 2**64 - 1
FINGERPRINT = re.compile(r"^a=fingerprint:([A-Za-z0-9-]+) ([0-9A-Fa-f:]+)\s*$", re.MULTILINE)


class SealError(ValueError):
    """A frame or key that must not be taken: malformed, tampered with, replayed or out of order."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: object) -> bytes:
    if not isinstance(text, str):
        raise SealError("not base64 text")
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        raise SealError("not base64 text") from None


class KeyPair:
    def __init__(self, private: ec.EllipticCurvePrivateKey):
        self.private = private
        self.public = private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )

    @classmethod
    def generate(cls) -> "KeyPair":
        return cls(ec.generate_private_key(ec.SECP256R1()))

    @classmethod
    def from_scalar(cls, scalar: bytes) -> "KeyPair":
        return cls(ec.derive_private_key(int.from_bytes(scalar, "big"), ec.SECP256R1()))

    @property
    def public_b64(self) -> str:
        return b64(self.public)


def public_key(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A peer's public key, checked to be a point on the curve."""
    if len(raw) != PUBLIC_LEN:
        raise SealError("a public key is an uncompressed P-256 point")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError:
        raise SealError("not a point on P-256") from None


def pair_key(mine: KeyPair, theirs: bytes, enclave_id: str) -> bytes:
    secret = mine.private.exchange(ec.ECDH(), public_key(theirs))
    first, second = sorted((mine.public, theirs))
    salt = hashlib.sha256(LABEL + first + second).digest()
    return HKDF(hashes.SHA256(), 32, salt, LABEL + b" " + enclave_id.encode()).derive(secret)


def _nonce(direction: int, counter: int) -> bytes:
    return bytes([direction, 0, 0, 0]) + counter.to_bytes(8, "big")


def _aad(enclave_id: str, sender: str, receiver: str) -> bytes:
    return b"\0".join([LABEL, enclave_id.encode(), sender.encode(), receiver.encode()])


class Channel:
    """One pair's sealed relay, from one side: what we seal, what we open."""

    def __init__(self, mine: KeyPair, theirs: bytes, enclave_id: str, me: str, them: str):
        self.aead = AESGCM(pair_key(mine, theirs, enclave_id))
        self.theirs = theirs
        self.enclave_id, self.me, self.them = enclave_id, me, them
        self.out_direction = 0 if mine.public < theirs else 1
        self.sent = 0  # last counter sealed
        self.opened = 0  # last counter opened

    def seal(self, plaintext: str | bytes) -> str:
        if self.sent >= MAX_COUNTER:
            raise SealError("this pair's counter is spent; new keys are needed")
        self.sent += 1
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        sealed = self.aead.encrypt(
            _nonce(self.out_direction, self.sent), data, _aad(self.enclave_id, self.me, self.them)
        )
        return b64(bytes([VERSION]) + self.sent.to_bytes(8, "big") + sealed)

    def open(self, frame: object) -> bytes:
        raw = unb64(frame)
        if len(raw) < HEADER + 16 or raw[0] != VERSION:
            raise SealError("not a relay frame")
        counter = int.from_bytes(raw[1:HEADER], "big")
        if counter <= self.opened:
            raise SealError("replayed or out of order")
        try:
            plain = self.aead.decrypt(
                _nonce(1 - self.out_direction, counter), raw[HEADER:], _aad(self.enclave_id, self.them, self.me)
            )
        except InvalidTag:
            raise SealError("tampered with, or sealed with another key") from None
        self.opened = counter
        return plain


def fingerprint_of(sdp: str | None) -> str:
    """The DTLS fingerprint an SDP announces, upper-case hex with colons ("" when none): its
    SHA-256 one, else the first (aiortc answers with SHA-512 alone). Both members read the
    same SDP text, one as its local description and the other as its remote one."""
    found = FINGERPRINT.findall(sdp or "")
    chosen = next((hex for algorithm, hex in found if algorithm.lower() == "sha-256"), found[0][1] if found else "")
    return chosen.upper()


def safety_code(public_a: bytes, fingerprint_a: str, public_b: bytes, fingerprint_b: str) -> str:
    """Twelve digits in groups of four, the same on both sides (the order of the two members does not matter)."""
    digest = hashlib.sha256(SAFETY_LABEL)
    for public, fingerprint in sorted([(public_a, fingerprint_a.upper()), (public_b, fingerprint_b.upper())]):
        digest.update(public + fingerprint.encode() + b"\n")
    digits = f"{int.from_bytes(digest.digest()[:8], 'big') % 10**12:012d}"
    return " ".join(digits[i : i + 4] for i in range(0, 12, 4))
