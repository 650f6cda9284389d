"""Redis out of reach is a known condition, not a bug.

While Redis cannot be reached (refused, timing out, still loading after a
restart), whatever needs it answers the contract's `unavailable`; the log
gets one warning when this process first meets the outage and one when Redis
answers again, never a traceback per request. The redis client reconnects
by itself, so nothing has to be restarted.
"""

import logging

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ephem.i18n import N_

log = logging.getLogger("ephem.redis")

# BusyLoadingError (Redis still loading after a restart) is a ConnectionError.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError)

MESSAGE = N_("The service is briefly unavailable. Try again in a few seconds.")


class Outage:
    """Whether this process currently finds Redis out of reach."""

    def __init__(self) -> None:
        self.down = False

    def failed(self, exc: BaseException) -> bool:
        """True when `exc` means Redis is out of reach (logged once per outage)."""
        if not isinstance(exc, UNREACHABLE):
            return False
        if not self.down:
            self.down = True
            log.warning("Redis is out of reach (%s); answering `unavailable` until it is back", exc)
        return True

    def recovered(self) -> None:
        """Something that needed Redis just worked."""
        if self.down:
            self.down = False
            log.warning("Redis answers again")

    def report(self, logger: logging.Logger, exc: BaseException, what: str, *args) -> None:
        """Log a failure: once per outage when Redis is away, with its traceback otherwise."""
        if not self.failed(exc):
            logger.error(what, *args, exc_info=exc)


outage = Outage()
