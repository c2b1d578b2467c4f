"""Where a request's body ends: its `Content-Length`, or its chunked framing (RFC 9112 §7.1)
decoded incrementally, with strict limits.

Both tell a receiver how many of the next bytes are body data it may receive in place
(`in_data`), how many it may read at once (`readable`), and decode the bytes that followed the
data (`feed`): a chunk's size line, the line end after its data, the trailers, and the chunks
after them. A malformed chunked body is a `BadRequest`; aiohttp's own parser
refuses the same things (a size that is not hex digits, a bare LF, data not followed by CRLF).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Protocol

from catalog.errors import BadRequest

MAX_LINE_BYTES = 8190
"""A chunk's size line with its extensions, or one trailer line: aiohttp's own line limit."""
MAX_TRAILER_BYTES = 8190
"""All the trailers of a body together."""

_UNBOUNDED = 1 << 62
_SHORT_LINE = 64

_SIZE = re.compile(rb"[0-9A-Fa-f]{1,16}")
_EXTENSIONS = re.compile(rb"(;[\t !#-~]*)?")
_TRAILER = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[\t -~]*")


class BodyFraming(Protocol):
    done: bool

    def in_data(self) -> int:
        """How many of the next bytes are body data (0 when framing comes next)."""
        ...

    def readable(self) -> int:
        """How many of the next bytes a receiver may read at once: the body's, and whatever
        follows its end it hands on (`feed`'s rest)."""
        ...

    def took(self, count: int) -> None:
        """`count` (at most `in_data()`) data bytes were received in place."""
        ...

    def feed(self, data: memoryview) -> tuple[list[memoryview], memoryview]:
        """Decode `data`: the body data in it, and what follows the body's end."""
        ...


class SizedBody:
    """A body of `Content-Length` bytes, `remaining` of them still to come."""

    def __init__(self, remaining: int) -> None:
        self.remaining = remaining
        self.done = remaining == 0

    def in_data(self) -> int:
        return self.remaining

    def readable(self) -> int:
        # Nothing past the body's end: the next request stays in the socket for aiohttp.
        return self.remaining

    def took(self, count: int) -> None:
        self.remaining -= count
        self.done = self.remaining == 0

    def feed(self, data: memoryview) -> tuple[list[memoryview], memoryview]:
        taken = min(self.remaining, len(data))
        self.took(taken)
        return [data[:taken]] if taken else [], data[taken:]


class ChunkedBody:
    """A chunked body, decoded as its bytes arrive in pieces split anywhere."""

    def __init__(self) -> None:
        self.done = False
        self._remaining = 0  # of the current chunk's data
        self._line = bytearray()  # a size or trailer line, until its LF
        self._in_size_line = True
        self._line_end_due = 0  # bytes of the CRLF after a chunk's data still to come
        self._trailer_bytes = 0

    def in_data(self) -> int:
        return self._remaining

    def readable(self) -> int:
        # As much as there is room for: a client's chunks are small (python-glanceclient's
        # are 64 KiB), and a read per chunk would cost a turn of the event loop each. The
        # receiver squeezes each later chunk's framing out in place (`feed`'s spans).
        return _UNBOUNDED

    def took(self, count: int) -> None:
        self._remaining -= count
        if not self._remaining:
            self._line_end_due = 2

    def feed(self, data: memoryview) -> tuple[list[memoryview], memoryview]:
        spans: list[memoryview] = []
        while data and not self.done:
            if self._remaining:
                taken = min(self._remaining, len(data))
                spans.append(data[:taken])
                self.took(taken)
                data = data[taken:]
            elif self._line_end_due:
                due = b"\r\n"[2 - self._line_end_due :][: len(data)]
                if data[: len(due)] != due:
                    raise _malformed("a chunk's data is not followed by CRLF")
                self._line_end_due -= len(due)
                data = data[len(due) :]
            else:
                data = self._read_line(data)
        return spans, data

    def _read_line(self, data: memoryview) -> memoryview:
        # A size line is a few bytes: look for its end there before copying out the most a
        # line may be (a chunk's data follows it).
        end = bytes(data[:_SHORT_LINE]).find(b"\n")
        if end < 0 and len(data) > _SHORT_LINE:
            end = bytes(data[: MAX_LINE_BYTES + 1]).find(b"\n")
        piece = data if end < 0 else data[: end + 1]
        if len(self._line) + len(piece) > MAX_LINE_BYTES:
            raise _malformed("a chunk's size line or a trailer is too long")
        self._line += piece
        if end < 0:
            return data[len(data) :]
        line, self._line = bytes(self._line), bytearray()
        if not line.endswith(b"\r\n"):
            raise _malformed("a line ends without CR")
        self._end_of_line(line[:-2])
        return data[end + 1 :]

    def _end_of_line(self, line: bytes) -> None:
        if self._in_size_line:
            size, semicolon, extensions = line.partition(b";")
            if not _SIZE.fullmatch(size) or not _EXTENSIONS.fullmatch(semicolon + extensions):
                raise _malformed("a chunk's size is not hexadecimal digits")
            self._remaining = int(size, 16)
            # After the last chunk (size 0) come trailers, up to an empty line.
            self._in_size_line = self._remaining > 0
            return
        if not line:
            self.done = True
            return
        self._trailer_bytes += len(line) + 2
        if self._trailer_bytes > MAX_TRAILER_BYTES:
            raise _malformed("the trailers are too long")
        if not _TRAILER.fullmatch(line):
            raise _malformed("a trailer is not a header field")


def framing_of(headers: Mapping[str, str]) -> BodyFraming | None:
    """The framing of a body sent with `headers`; None for a body this module does not
    decode (an encoding, a transfer coding other than chunked)."""
    if "Content-Encoding" in headers:
        return None
    coding = headers.get("Transfer-Encoding")
    if coding is not None:
        return ChunkedBody() if coding.strip().lower() == "chunked" else None
    length = headers.get("Content-Length", "")
    return SizedBody(int(length)) if length.isdigit() else None


def _malformed(why: str) -> BadRequest:
    return BadRequest(f"The request's chunked body is malformed: {why}.")
