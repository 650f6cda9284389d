"""Gunicorn's settings for `reflex run --env prod`, read from this folder.

Reflex serves the production backend through gunicorn with uvicorn workers
when both are installed (requirements.txt pins them), else through Granian,
whose websockets keep a 128 KiB read buffer each. Reflex picks the worker
class (`UvicornH11Worker`) on gunicorn's command line; this file tunes the
uvicorn server each worker runs, before it starts (bench/README.md has the
measurements):

- websockets through wsproto (python-engineio's own dependency), by
  uvicorn's own protocol made lighter per connection
  (`ephem/signaling/websocket.py`), without permessage-deflate: browsers ask
  for it, and its zlib state would cost every connection far more memory
  than anything else it holds;
- no websocket pings of uvicorn's own: Socket.IO pings every connection
  already (every 25 s), and a second timer per connection is idle CPU;
- uvloop, the faster event loop (its timers and sockets are C);
- no X-Forwarded-For rewriting of uvicorn's own (it believes loopback by
  default): `EPHEM_TRUSTED_PROXIES` is the one rule for client addresses.

Workers: as many as Reflex would give Granian (one without
`REFLEX_REDIS_URL`, 2 x cores + 1 with it), or gunicorn's `WEB_CONCURRENCY`.
"""

import os

from reflex.utils.processes import get_num_workers

workers = int(os.environ.get("WEB_CONCURRENCY") or get_num_workers())


def post_fork(server, worker):
    config = getattr(worker, "config", None)  # a uvicorn worker's server settings, not loaded yet
    if config is None:
        return
    config.ws = "ephem.signaling.websocket:LeanWSProtocol"
    config.ws_per_message_deflate = False
    config.ws_ping_interval = None
    config.ws_ping_timeout = None
    config.loop = "uvloop"
    config.proxy_headers = False
