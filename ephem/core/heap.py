"""The garbage collector tuned for a worker that holds thousands of connections.

Python's cyclic collector runs a full collection (every object in the
process) whenever the objects that survived grew by a quarter: a burst of
connections triggers several, and each walks Reflex's start-up heap (the
app, its components, every imported module) again. Measured with
bench/memory.py's clock, that was about 0.4 ms of a connect's CPU, and most
of the idle worker's collections (bench/README.md, issue 17).

- Freeze what start-up made: it lives as long as the process, so no
  collection needs to look at it again.
- A larger first generation (10,000 allocations, not 700): a connect's
  short-lived objects (futures, packets, parsers) are freed by their
  reference counts before a collection sees them, instead of being promoted
  and walked again by the older generations' collections.
"""

import gc

THRESHOLDS = (10_000, 20, 10)


def settle() -> None:
    """Once a worker has started: its start-up objects out of every collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
