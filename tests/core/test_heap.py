"""ephem/core/heap.py: a started worker's start-up objects leave the collector's walks."""

import json
import subprocess
import sys

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
