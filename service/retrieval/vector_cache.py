"""Vectors of recently embedded texts, per process, and embedding ahead of need.

A vector is a function of its text alone, so serving it again is exact. The cache serves
the planner (it looks back over the last answers every turn) and repeated texts; ``prefetch``
starts embedding a candidate's answer while the service is still storing the message and
loading the session, and a caller asking for a text that is being embedded waits for that
result instead of computing it a second time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

Embed = Callable[[list[str]], np.ndarray]


class RecentVectors:
    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()
        self._inflight: dict[str, Future[None]] = {}
        self._lock = threading.Lock()
        self._ahead = ThreadPoolExecutor(1, thread_name_prefix="embed-ahead")  # never the pool _embed uses

    def take(self, texts: list[str], known: dict[str, np.ndarray]) -> None:
        """Copy cached vectors of ``texts`` into ``known``, after waiting for any being prefetched."""
        with self._lock:
            waiting = {self._inflight[t] for t in texts if t not in known and t in self._inflight}
        for future in waiting:
            future.result()
        with self._lock:
            for text in texts:
                if text not in known and text in self._vectors:
                    known[text] = self._vectors[text]
                    self._vectors.move_to_end(text)

    def put(self, fresh: dict[str, np.ndarray]) -> None:
        with self._lock:
            self._vectors.update(fresh)
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)

    def prefetch(self, texts: list[str], embed: Embed) -> None:
        """Embed the texts not cached or under way in the background; failures are left to the caller's own call."""
        with self._lock:
            todo = [t for t in dict.fromkeys(texts) if t not in self._vectors and t not in self._inflight]
            if not todo:
                return
            future: Future[None] = self._ahead.submit(self._fill, todo, embed)
            for text in todo:
                self._inflight.setdefault(text, future)

    def _fill(self, todo: list[str], embed: Embed) -> None:
        try:
            self.put(dict(zip(todo, embed(todo), strict=True)))
        except Exception:  # the turn embeds the text itself and reports the error there
            pass
        finally:
            with self._lock:
                for text in todo:
                    self._inflight.pop(text, None)

    def clear(self) -> None:
        with self._lock:
            self._vectors.clear()
