"""The worker's heap: the garbage collector and malloc tuned for thousands of connections.

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

And one malloc arena for all threads. glibc gives each new thread an arena
of its own; the threads the database calls run in each grew theirs by
about a mebibyte a minute of churn, almost all of it free space pinned by a
few live blocks, while the main heap stayed flat (bench/README.md, the churn
soak). Python holds the GIL around nearly every allocation, so one arena
costs little contention.
"""

import ctypes
import gc
import os

THRESHOLDS = (10_000, 20, 10)
M_ARENA_MAX = -8  # glibc's <malloc.h>


def share_one_arena() -> bool:
    """Before any thread allocates: every thread mallocs from the main arena. False where that is not glibc's to set."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False  # the operator's own setting, which glibc has already applied
    mallopt = getattr(ctypes.CDLL(None), "mallopt", None)
    return bool(mallopt and mallopt(M_ARENA_MAX, 1))


def settle() -> None:
    """Once a worker has started: its start-up objects out of every collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
