"""The notifications consumer's folds of recently seen streams, as their last event left them,
so that the next event of a stream seldom needs its history read and folded again.

What a kept fold costs is mostly the cycle collector's: a fold is a few objects (an image's:
its fold and its state; a task's or a namespace's: its aggregate, more), and every full
collection walks every such object the process keeps. A consumer catching up with a long log
allocates fast, so full collections come every second or so; with 40,000 image folds as objects
(285,000 objects walked, scattered over the heap) they took over a fifth of its time. So only the
most recent streams' folds stay objects; older ones are kept packed, as values the collector
does not walk (a text, a number: an image's stored form, its JSON, about 0.4 KB; another kind's
pickle), until they are needed again, which costs unpacking them (about 8 µs an image's)
instead of reading and folding a history, or until the bounds push them out.

A fold pushed out is not lost where its kind has a stored form (an image's): it is handed to
the consumer (`pushed_out`) to keep in the database, and read from there when its stream comes
again. So a log of more images than the cache holds costs a row written and read per image
that comes back, not its history read and folded again (which grows with the image's events).
Pickles stay inside this process, never stored.

Memory: at most `live` folds as objects (about 1.6 KB an image's) and `packed_bytes` of packed
ones, for `streams` streams at most.
"""

from __future__ import annotations

import pickle
import uuid
from collections import OrderedDict
from typing import NamedTuple

from catalog.notifications import StreamNotifications


class PushedOut(NamedTuple):
    """A fold with a stored form, pushed out of the cache: to keep elsewhere or lose."""

    kind: type[StreamNotifications]
    stream_id: uuid.UUID
    version: int
    stored: str


PUSHED_OUT_WAITING = 10_000
"""Folds pushed out kept until the consumer takes them (`pushed_out`), at most: a process whose
events all take effect at their appends runs no batch for a while. Beyond, the oldest are lost
(their streams' histories are read again when they come back)."""
PACKED_ENTRY_BYTES = 200
"""What a packed fold costs beyond its text or pickle (its entry, its tuple, its number),
counted in `packed_bytes`."""

_Packed = tuple[int, str, str | bytes]
"""A packed fold: its version, its kind's name, and its stored form (text) or else its pickle
(bytes). Plain values only, keyed by the stream's number: nothing the collector walks."""


class FoldCache:
    def __init__(self, *, streams: int, live: int, packed_bytes: int) -> None:
        self._streams = streams
        self._live_bound = min(live, streams)
        self._packed_bound = packed_bytes
        self._live: OrderedDict[uuid.UUID, StreamNotifications] = OrderedDict()
        self._packed: OrderedDict[int, _Packed] = OrderedDict()
        """Stream (its UUID's number) -> its packed fold."""
        self._packed_size = 0
        self._kinds: dict[str, type[StreamNotifications]] = {}
        self._pushed_out: list[PushedOut] = []

    def version(self, stream_id: uuid.UUID) -> int | None:
        """The version the stream's kept fold reflects, if one is kept."""
        if (live := self._live.get(stream_id)) is not None:
            return live.version
        kept = self._packed.get(stream_id.int)
        return None if kept is None else kept[0]

    def take(self, stream_id: uuid.UUID) -> StreamNotifications | None:
        """The stream's fold, no longer kept (it is kept again once advanced)."""
        if (live := self._live.pop(stream_id, None)) is not None:
            return live
        if (kept := self._take_packed(stream_id.int)) is None:
            return None
        version, kind, data = kept
        if isinstance(data, str):
            return self._kinds[kind].restored(stream_id, version, data)
        unpickled: StreamNotifications = pickle.loads(data)
        return unpickled

    def keep(self, fold: StreamNotifications) -> None:
        """Keep `fold` as the most recent; the oldest are packed, then pushed out."""
        self._forget(fold.stream_id)  # an older one of the stream, if any
        if fold.ended:  # nothing comes after
            return
        if not self._streams:  # nothing is kept here
            if fold.stored_form:
                self._push_out(fold.stream_id.int, fold.version, fold.stored(), type(fold))
            return
        self._live[fold.stream_id] = fold
        if len(self._live) > self._live_bound:
            _, oldest = self._live.popitem(last=False)
            self._pack(oldest)
        while self._packed and (
            self._packed_size > self._packed_bound
            or len(self._packed) + len(self._live) > self._streams
        ):
            number, (version, kind, data) = self._packed.popitem(last=False)
            self._packed_size -= len(data) + PACKED_ENTRY_BYTES
            if isinstance(data, str):
                self._push_out(number, version, data, self._kinds[kind])

    def pushed_out(self) -> list[PushedOut]:
        """The folds with a stored form pushed out since the last call: the caller keeps them
        elsewhere or loses them (their streams are then folded again from their histories)."""
        folds, self._pushed_out = self._pushed_out, []
        return folds

    def holds(self, stream_id: uuid.UUID) -> bool:
        return stream_id in self._live or stream_id.int in self._packed

    def _push_out(
        self, number: int, version: int, stored: str, kind: type[StreamNotifications]
    ) -> None:
        self._pushed_out.append(PushedOut(kind, uuid.UUID(int=number), version, stored))
        if len(self._pushed_out) > PUSHED_OUT_WAITING:
            del self._pushed_out[0]

    def _forget(self, stream_id: uuid.UUID) -> None:
        if self._live.pop(stream_id, None) is None:
            self._take_packed(stream_id.int)

    def _pack(self, fold: StreamNotifications) -> None:
        kind = type(fold)
        self._kinds.setdefault(kind.__qualname__, kind)
        data = fold.stored() if fold.stored_form else pickle.dumps(fold, pickle.HIGHEST_PROTOCOL)
        self._packed[fold.stream_id.int] = (fold.version, kind.__qualname__, data)
        self._packed_size += len(data) + PACKED_ENTRY_BYTES

    def _take_packed(self, number: int) -> _Packed | None:
        """The stream's packed fold, no longer kept; None if none is packed."""
        kept = self._packed.pop(number, None)
        if kept is not None:
            self._packed_size -= len(kept[2]) + PACKED_ENTRY_BYTES
        return kept

    def __len__(self) -> int:
        return len(self._live) + len(self._packed)
