"""The notifications consumer's folds of recently seen streams, as their last event left them,
so that the next event of a stream seldom needs its history read and folded again.

A fold is small objects (an image's: a record of plain values, about 1.6 KB; a task's or a
namespace's: its aggregate, larger), each of which every full collection of the cycle collector
walks. A consumer catching up with a log of more images than it keeps folds reads and folds
their histories again, event after event. So only the most recent streams' folds stay objects;
older ones are kept packed (pickled: bytes the collector does not walk, about 0.6 of an image's
memory, a third of an aggregate's) until they are needed again, which costs unpickling them
instead of reading and folding a history, or until the bound on their bytes pushes them out.
Packing stays inside this process, never stored.

Memory: at most `live` folds as objects (about 1.6 KB an image's, measured on
`bench.event_history`'s images, its payload's JSON pieces included) and `packed_bytes` of packed
ones (about 0.9 KB an image's), for `streams` streams at most.
"""

from __future__ import annotations

import pickle
import uuid
from collections import OrderedDict

from catalog.notifications import StreamNotifications


class FoldCache:
    def __init__(self, *, streams: int, live: int, packed_bytes: int) -> None:
        self._streams = streams
        self._live_bound = min(live, streams)
        self._packed_bound = packed_bytes
        self._live: OrderedDict[uuid.UUID, StreamNotifications] = OrderedDict()
        self._packed: OrderedDict[uuid.UUID, tuple[int, bytes]] = OrderedDict()
        """Stream -> (the fold's version, the fold pickled)."""
        self._packed_size = 0

    def version(self, stream_id: uuid.UUID) -> int | None:
        """The version the stream's kept fold reflects, if one is kept."""
        if (live := self._live.get(stream_id)) is not None:
            return live.version
        packed = self._packed.get(stream_id)
        return None if packed is None else packed[0]

    def take(self, stream_id: uuid.UUID) -> StreamNotifications | None:
        """The stream's fold, no longer kept (it is kept again once advanced)."""
        if (live := self._live.pop(stream_id, None)) is not None:
            return live
        if (packed := self._take_packed(stream_id)) is None:
            return None
        fold: StreamNotifications = pickle.loads(packed)
        return fold

    def keep(self, fold: StreamNotifications) -> None:
        """Keep `fold` as the most recent; the oldest are packed, then forgotten."""
        self._forget(fold.stream_id)  # an older one of the stream, if any
        if fold.ended or not self._streams:  # nothing comes after, or nothing is kept
            return
        self._live[fold.stream_id] = fold
        if len(self._live) > self._live_bound:
            _, oldest = self._live.popitem(last=False)
            self._pack(oldest)
        while self._packed and (
            self._packed_size > self._packed_bound
            or len(self._packed) + len(self._live) > self._streams
        ):
            _, (_, forgotten) = self._packed.popitem(last=False)
            self._packed_size -= len(forgotten)

    def _forget(self, stream_id: uuid.UUID) -> None:
        if self._live.pop(stream_id, None) is None:
            self._take_packed(stream_id)

    def _pack(self, fold: StreamNotifications) -> None:
        packed = pickle.dumps(fold, protocol=pickle.HIGHEST_PROTOCOL)
        self._packed[fold.stream_id] = (fold.version, packed)
        self._packed_size += len(packed)

    def _take_packed(self, stream_id: uuid.UUID) -> bytes | None:
        """The stream's packed fold (pickled), no longer kept; None if none is packed."""
        packed = self._packed.pop(stream_id, None)
        if packed is None:
            return None
        self._packed_size -= len(packed[1])
        return packed[1]

    def __len__(self) -> int:
        return len(self._live) + len(self._packed)
