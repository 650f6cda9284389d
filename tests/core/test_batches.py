"""ephem/core/batches.py: a burst of callers shares one read, each read made after its callers asked."""

import asyncio
import threading

import pytest

from ephem.core.batches import Batched


class Reader:
    """A blocking read that records its batches and can be held open."""

    def __init__(self):
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()
        self.threads: set[int] = set()

    def __call__(self, keys: list[str]) -> list:
        self.threads.add(threading.get_ident())
        self.batches.append(list(keys))
        self.release.wait(5)
        return [ValueError(key) if key.startswith("bad") else key.upper() for key in keys]


def batched(reader: Reader, size: int = 100) -> tuple[Batched, set]:
    tasks: set = set()

    def spawn(coro):
        task = asyncio.ensure_future(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return Batched(reader, size, spawn), tasks


async def test_a_burst_is_one_read_off_the_event_loop_and_each_caller_gets_its_own_answer():
    reader = Reader()
    reads, _ = batched(reader)
    answers = await asyncio.gather(*(reads.read(key) for key in ["a", "b", "a", "c"]))
    assert answers == ["A", "B", "A", "C"]
    assert reader.batches == [["a", "b", "a", "c"]]
    assert threading.get_ident() not in reader.threads


async def test_a_caller_who_asks_during_a_read_waits_for_the_next_one():
    reader = Reader()
    reader.release.clear()
    reads, _ = batched(reader)
    first = asyncio.ensure_future(reads.read("a"))
    while not reader.batches:  # the first read has started
        await asyncio.sleep(0.001)
    later = asyncio.ensure_future(reads.read("b"))
    await asyncio.sleep(0.01)
    assert not later.done()
    reader.release.set()
    assert await first == "A" and await later == "B"
    assert reader.batches == [["a"], ["b"]]  # "b" was not answered from a read begun before it asked


async def test_batches_are_bounded():
    reader = Reader()
    reads, _ = batched(reader, size=3)
    answers = await asyncio.gather(*(reads.read(str(n)) for n in range(7)))
    assert answers == [str(n) for n in range(7)]
    assert [len(batch) for batch in reader.batches] == [3, 3, 1]


async def test_an_answer_that_is_an_error_goes_to_its_caller_only():
    reads, _ = batched(Reader())
    good, bad = await asyncio.gather(reads.read("ok"), reads.read("bad-1"), return_exceptions=True)
    assert good == "OK"
    assert isinstance(bad, ValueError) and str(bad) == "bad-1"


async def test_a_failed_read_fails_its_batch_and_the_next_read_works():
    calls = []

    def flaky(keys):
        calls.append(keys)
        if len(calls) == 1:
            raise ConnectionError("database gone")
        return [key * 2 for key in keys]

    reads, tasks = batched(flaky)  # type: ignore[arg-type]
    results = await asyncio.gather(reads.read("x"), reads.read("y"), return_exceptions=True)
    assert all(isinstance(r, ConnectionError) for r in results)
    assert await reads.read("z") == "zz"


async def test_a_cancelled_caller_does_not_stop_the_others():
    reader = Reader()
    reader.release.clear()
    reads, tasks = batched(reader)
    gone = asyncio.ensure_future(reads.read("a"))
    kept = asyncio.ensure_future(reads.read("b"))
    while not reader.batches:
        await asyncio.sleep(0.001)
    gone.cancel()
    reader.release.set()
    assert await kept == "B"
    with pytest.raises(asyncio.CancelledError):
        await gone
    await asyncio.sleep(0)
    assert not tasks  # the reader finished
