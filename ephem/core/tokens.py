"""Random bearer tokens, kept server-side only as keyed hashes.

Tokens carry 192 bits from `secrets`, so a fast keyed hash is enough: there is
nothing to brute-force, and HMAC means a leaked table alone does not let
anyone forge a lookup. Each kind of token gets its own label so a session
token can never be presented as a recovery token or the other way round.
"""

import hashlib
import hmac
import secrets

TOKEN_BYTES = 24


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


class TokenHasher:
    def __init__(self, secret: bytes):
        if len(secret) < 16:
            raise ValueError("the token secret must be at least 16 bytes")
        self._secret = secret

    def digest(self, kind: str, token: str) -> str:
        # surrogatepass: a malformed token must fail to match, not raise.
        message = f"{kind}:{token}".encode(errors="surrogatepass")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def matches(self, kind: str, token: str, stored: str) -> bool:
        return hmac.compare_digest(self.digest(kind, token), stored)
