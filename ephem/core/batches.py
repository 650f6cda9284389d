"""Many callers of one blocking read, served by one thread hop and one query.

A burst of connects or searches would otherwise make a thread hop and a
query each, and those, one after another under the GIL, are the burst's
latency. Here the first caller starts a reader; whoever asks while a read
is on its way waits for the next one, so every answer is read after it was
asked for (as fresh as a read of its own).
"""

import asyncio
from collections.abc import Callable, Coroutine, Hashable, Sequence
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Batched(Generic[K, V]):
    def __init__(
        self,
        read_many: Callable[[list[K]], Sequence[V | Exception]],
        size: int,
        spawn: Callable[[Coroutine[Any, Any, None]], None],
    ):
        """`read_many` answers each key in order: a value, or the exception
        its caller gets. `spawn` runs the reader as a tracked task."""
        self._read_many = read_many
        self._size = size
        self._spawn = spawn
        self._waiting: list[tuple[K, asyncio.Future]] = []

    async def read(self, key: K) -> V:
        answer = asyncio.get_running_loop().create_future()
        self._waiting.append((key, answer))
        if len(self._waiting) == 1:
            self._spawn(self._drain())
        return await answer

    async def _drain(self) -> None:
        while self._waiting:
            batch = self._waiting[: self._size]
            try:
                found: Sequence[Any] = await asyncio.to_thread(self._read_many, [key for key, _ in batch])
            except Exception as exc:  # noqa: BLE001 - every caller of this batch gets it
                found = [exc] * len(batch)
            del self._waiting[: len(batch)]
            for (_, answer), result in zip(batch, found):
                if answer.done():  # its caller was cancelled
                    continue
                if isinstance(result, Exception):
                    answer.set_exception(result)
                else:
                    answer.set_result(result)
