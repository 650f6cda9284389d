"""ephem/core/heap.py: a started worker's start-up objects leave the collector's walks; its threads share one arena."""

import json
import os
import platform
import subprocess
import sys

import pytest

from ephem.core.heap import THRESHOLDS

PROBE = """
import gc, json
from ephem.core import heap
before = gc.get_freeze_count()
made = [object() for _ in range(10)]
heap.settle()
print(json.dumps([before, gc.get_freeze_count(), gc.get_threshold(), gc.isenabled()]))
"""


def test_settle_freezes_the_heap_and_widens_the_young_generation():
    # In a process of its own: freezing is for the process's whole life.
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    before, after, threshold, enabled = json.loads(out)
    assert before == 0
    assert after > 1000  # the interpreter's and ephem's objects, at least
    assert tuple(threshold) == THRESHOLDS and THRESHOLDS[0] > 700  # wider than Python's default
    assert enabled  # tuned, not turned off: cycles are still collected


ARENAS = """
import ctypes, os, sys, tempfile, threading
from ephem.core import heap
shared = heap.share_one_arena() if sys.argv[1] == "share" else None

alive = threading.Barrier(4)

def allocate():
    blocks = [bytearray(4096) for _ in range(64)]  # malloc'd by the thread, not pymalloc's
    alive.wait()  # all four at once: a finished thread's arena would be handed to the next

threads = [threading.Thread(target=allocate) for _ in range(4)]
for t in threads:
    t.start()
for t in threads:
    t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "info.xml").encode()
    f = libc.fopen(path, b"w")
    libc.malloc_info(0, f)
    libc.fclose(f)
    print(shared, open(path).read().count("<heap nr="))
"""


def arenas(mode: str, env: dict | None = None) -> tuple[str, int]:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | (env or {})
    out = subprocess.run([sys.executable, "-c", ARENAS, mode], capture_output=True, text=True, check=True, env=environ).stdout
    shared, count = out.split()
    return shared, int(count)


@pytest.mark.skipif(not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="glibc's arenas")
def test_threads_share_the_main_arena():
    # Without it each thread gets an arena of its own (what the churn soak saw grow)...
    assert arenas("default") == ("None", 5)
    # ...with it, the threads allocate from the main arena.
    assert arenas("share") == ("True", 1)
    # An operator's MALLOC_ARENA_MAX is left as it is.
    assert arenas("share", {"MALLOC_ARENA_MAX": "2"}) == ("False", 2)
