"""ICE servers for browsers: configured STUN/TURN, with TURN credentials that expire.

TURN credentials follow the TURN REST scheme that coturn's
`use-auth-secret` understands: username `expiry:account`, password
base64(HMAC-SHA1(secret, username)), so nothing long-lived reaches a browser.
"""

import base64
import hashlib
import hmac

from ephem.core.clock import utcnow
from ephem.core.settings import Settings


def ice_servers_for(settings: Settings, account_id: str, now=None) -> list[dict]:
    servers = [dict(server) for server in settings.ice_servers]
    if settings.turn_urls and settings.turn_secret:
        expiry = int(((now or utcnow()) + settings.turn_ttl).timestamp())
        username = f"{expiry}:{account_id}"
        digest = hmac.new(settings.turn_secret.encode(), username.encode(), hashlib.sha1).digest()
        servers.append(
            {"urls": list(settings.turn_urls), "username": username, "credential": base64.b64encode(digest).decode()}
        )
    return servers
