"""A request body's framing decoded as a receiver meets it: data received in place where its
length is known, the rest decoded in pieces split anywhere; a malformed chunk refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from catalog.errors import BadRequest
from infra.http.body_framing import BodyFraming, ChunkedBody, SizedBody, framing_of


def chunked(data: bytes, sizes: list[int], trailers: bytes = b"") -> bytes:
    out = bytearray()
    for size in sizes:
        chunk, data = data[:size], data[size:]
        if chunk:
            out += f"{len(chunk):x};ext=1\r\n".encode() + chunk + b"\r\n"
    if data:
        out += f"{len(data):X}\r\n".encode() + data + b"\r\n"
    return bytes(out + b"0\r\n" + trailers + b"\r\n")


def received(framing: BodyFraming, wire: bytes, reads: list[int]) -> tuple[bytes, bytes]:
    """The body's data and what followed it, read as a receiver reads: in place while the
    framing knows the data's length, else through `feed`, in reads of the sizes given."""
    data = bytearray()
    sizes = iter(reads)
    while not framing.done:
        read = max(1, next(sizes, 7))
        wanted = framing.in_data()
        if wanted:
            piece = wire[: min(wanted, read)]
            framing.took(len(piece))
            data += piece
            wire = wire[len(piece) :]
            continue
        spans, rest = framing.feed(memoryview(wire[:read]))
        data += b"".join(spans)
        wire = bytes(rest) + wire[read:]
    return bytes(data), wire


@given(
    st.binary(max_size=600),
    st.lists(st.integers(1, 70), max_size=12),
    st.lists(st.integers(1, 40), max_size=60),
)
def test_a_chunked_body_split_anywhere_gives_its_data_and_what_follows(
    data: bytes, sizes: list[int], reads: list[int]
) -> None:
    wire = chunked(data, sizes, trailers=b"X-Trailer: yes\r\n") + b"GET / HTTP/1.1\r\n"
    assert received(ChunkedBody(), wire, reads) == (data, b"GET / HTTP/1.1\r\n")


@given(st.binary(max_size=300), st.lists(st.integers(1, 40), max_size=30))
def test_a_sized_body_gives_its_length_and_leaves_the_rest(data: bytes, reads: list[int]) -> None:
    assert received(SizedBody(len(data)), data + b"next", reads) == (data, b"next")


@pytest.mark.parametrize(
    "wire",
    [
        b"zz\r\n",  # not hexadecimal
        b"5 \r\nhello\r\n",  # space after the size
        b" 5\r\nhello\r\n",
        b"+5\r\nhello\r\n",
        b"5\nhello\r\n",  # a bare LF
        b"5;a\x01\r\nhello\r\n",  # a control character in an extension
        b"1" * 17 + b"\r\n",  # more than 64 bits of size
        b"5\r\nhelloXX",  # data not followed by CRLF
        b"5\r\nhello\n",
        b"0\r\nnot a field\r\n\r\n",  # a trailer that is no header field
        b"1" * 9000,  # a size line past the limit, without its end
        b"0\r\n" + b"X-T: " + b"a" * 9000 + b"\r\n",
    ],
)
def test_a_malformed_chunked_body_is_refused(wire: bytes) -> None:
    with pytest.raises(BadRequest, match="chunked body is malformed"):
        received(ChunkedBody(), wire + b"0\r\n\r\n", [3] * len(wire))


def test_the_framing_follows_the_headers() -> None:
    assert isinstance(framing_of({"Content-Length": "10"}), SizedBody)
    assert isinstance(framing_of({"Transfer-Encoding": "Chunked"}), ChunkedBody)
    assert framing_of({"Transfer-Encoding": "gzip, chunked"}) is None
    assert framing_of({"Content-Length": "10", "Content-Encoding": "gzip"}) is None
