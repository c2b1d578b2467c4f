"""aiohttp's connection protocol, with what it lacks against slow and hostile clients.

aiohttp bounds each header line and the number of headers, and closes a connection left idle
(`keepalive_timeout`, also from the connection's start). It has no bound on how long a
request's line and headers may take once they started, nor on their size together, nor on how
long a request's body may send nothing. Those are watched here, where the bytes arrive:

- **head timeout**: from the first byte of a request until its headers end; beyond it the
  connection is closed (there is no request to answer yet);
- **head size**: the request line and headers together, counted as they arrive, so a client
  dripping header lines is stopped at the ceiling, not after; beyond it 431, then closed;
- **body idle timeout**: while a request's body is awaited, a client that sends nothing for
  that long makes the body fail with `RequestTimeout`, which whatever reads it (an upload,
  a JSON body) meets as it would an interrupted body: the answer is 408, then the connection
  is closed. Time during which the catalog itself stopped reading (its buffer full while a
  store is slow) does not count.

It also lets an upload take its body off aiohttp's parser (`take_body`): a `BodyReceiver`
receives the rest straight into aligned blocks, then gives the connection back with a fresh
parser, so a kept-alive connection serves its next request (see `infra/http/body_receiver.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiohttp import web
from aiohttp.http import HttpRequestParser
from aiohttp.web_protocol import RequestHandler, RequestPayloadError

from catalog.errors import RequestTimeout
from infra.http.body_framing import framing_of
from infra.http.body_receiver import BodyReceiver
from infra.http.errors import error_page
from infra.http.raw_answer import raw_answer
from infra.settings import ApiSettings

log = structlog.get_logger(__name__)

HEAD_END = b"\r\n\r\n"
HEADS_TOO_LARGE = "The request's line and headers are too large."
MAX_RECORDED_BODY = 4 * 1024 * 1024
"""A body's first bytes, as read with its head, kept for a `BodyReceiver` to start from; a
body not taken before this much arrived stays with aiohttp's parser."""


@dataclass(frozen=True)
class ClientLimits:
    """What one connection's client may take (`CATALOG_API_*`, see infra/settings.py)."""

    header_timeout_seconds: float
    body_idle_timeout_seconds: float
    keepalive_timeout_seconds: float
    max_header_bytes: int

    @classmethod
    def of(cls, api: ApiSettings) -> ClientLimits:
        return cls(
            header_timeout_seconds=api.header_timeout_seconds,
            body_idle_timeout_seconds=api.body_idle_timeout_seconds,
            keepalive_timeout_seconds=api.keepalive_timeout_seconds,
            max_header_bytes=api.max_header_bytes,
        )

    def handler_options(self) -> dict[str, Any]:
        """aiohttp's own bounds, consistent with these: no single line above the whole."""
        return {
            "keepalive_timeout": self.keepalive_timeout_seconds,
            "max_line_size": self.max_header_bytes,
            "max_field_size": self.max_header_bytes,
        }


class GuardedRequestHandler(RequestHandler):
    """One client connection, with the head timeout, the head size ceiling and the body idle
    timeout of `limits`; `on_lost` is told when the connection ends."""

    def __init__(
        self,
        manager: web.Server,
        *,
        limits: ClientLimits,
        on_lost: Callable[[], None],
        **options: Any,
    ) -> None:
        super().__init__(manager, **options, **limits.handler_options())
        self._auto_decompress = bool(options.get("auto_decompress", True))
        self._limits = limits
        self._on_lost = on_lost
        self._awaiting_head = True
        self._head_bytes = 0
        self._head_tail = b""
        self._head_deadline: asyncio.TimerHandle | None = None
        self._last_bytes_at = 0.0
        self._body_watch: asyncio.TimerHandle | None = None
        self._close_after_answer = False
        # The raw bytes read after the last head counted, and the number aiohttp gives the
        # request of that head: what a receiver starts from, had its parser had them.
        self._body_record: list[bytes] | None = None
        self._recorded = 0
        self._record_for = 0
        self._receiver: BodyReceiver | None = None

    def data_received(self, data: bytes) -> None:
        self._last_bytes_at = self._loop.time()
        if self._awaiting_head and data:
            if not self._count_head(data):
                self._refuse_head()
                return
        elif self._body_record is not None:
            self._record(data)
        super().data_received(data)

    def take_body(self, request: web.BaseRequest) -> BodyReceiver | None:
        """A receiver for the rest of `request`'s body (the request being handled), or None
        where aiohttp's parser must go on reading it: a body already read or failed, one with
        a content coding, a connection with anything unusual on it (pipelined requests, TLS)."""
        transport = self.transport
        body = request.content
        if (
            request is not self._current_request
            or self._body_record is None
            or self._record_for != self._request_count
            or self._messages
            or self._upgraded
            or self._buffer_paused
            or body.is_eof()
            or body.exception() is not None
            or not isinstance(transport, asyncio.Transport)
            or transport.is_closing()
            or transport.get_extra_info("sslcontext") is not None
        ):
            return None
        framing = framing_of(request.headers)
        if framing is None:
            return None
        prefix = b"".join(self._body_record)
        self._body_record = None
        # aiohttp's flow control stops with its parser (which may hold bytes it paused on:
        # they are in the record); the receiver keeps its own and resumes the transport.
        self._reading_paused = False
        self._receiver = BodyReceiver(transport, self, framing, linger_seconds=self._lingering_time)
        self._receiver.start(prefix)
        return self._receiver

    def body_bytes_arrived(self) -> None:
        self._last_bytes_at = self._loop.time()

    def body_ended(self, rest: bytes) -> None:
        """The receiver read the body to its end: the connection is aiohttp's again, with a
        parser that starts at the next request (the old one still expects the body)."""
        self._receiver = None
        assert self.transport is not None
        assert self._current_request is not None
        self.transport.set_protocol(self)
        self._parser = HttpRequestParser(
            self,
            self._loop,
            self._read_bufsize,
            max_line_size=self.max_line_size,
            max_field_size=self.max_field_size,
            max_headers=self.max_headers,
            payload_exception=RequestPayloadError,
            auto_decompress=self._auto_decompress,
            max_msg_queue_size=self._max_msg_queue_size,
        )
        self._current_request.content.feed_eof()
        if rest:
            self.data_received(rest)

    def body_failed(self) -> None:
        self._close_after_answer = True

    def connection_lost(self, exc: BaseException | None) -> None:
        for timer in (self._head_deadline, self._body_watch):
            if timer is not None:
                timer.cancel()
        self._head_deadline = self._body_watch = None
        self._on_lost()
        super().connection_lost(exc)

    async def finish_response(
        self, request: web.BaseRequest, resp: web.StreamResponse, start_time: float | None
    ) -> tuple[web.StreamResponse, bool]:
        answered = await super().finish_response(request, resp, start_time)
        if self._close_after_answer:
            self.force_close()  # the body stalled or failed midway: nothing more is read
        self._body_record = None
        # The next bytes start the next request's head, unless this request's body is still
        # coming (aiohttp drains it, then closes) or the next head has already arrived.
        self._awaiting_head = request.content.is_eof() and not self._messages
        self._head_bytes, self._head_tail = 0, b""
        return answered

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """A request aiohttp could not parse (too many headers, a malformed line): a
        Glance-style answer; the connection is closed after it, as aiohttp always does."""
        if status >= 500:
            return super().handle_error(request, status, exc, message)
        log.info("request_unreadable", status=status, error=message or str(exc))
        said = "The request could not be read: it is not valid HTTP."
        response = web.Response(
            status=status, text=error_page(status, said), content_type="text/html"
        )
        response.force_close()
        return response

    def _count_head(self, data: bytes) -> bool:
        """Count `data` into the request's head; False once the head passes the ceiling."""
        seen = self._head_tail + data
        end = seen.find(HEAD_END)
        if end < 0:
            self._head_bytes += len(data)
            self._head_tail = seen[-(len(HEAD_END) - 1) :]
            if self._head_deadline is None:
                self._head_deadline = self._loop.call_later(
                    self._limits.header_timeout_seconds, self._head_too_slow
                )
            return self._head_bytes <= self._limits.max_header_bytes
        in_data = end + len(HEAD_END) - len(self._head_tail)
        self._head_bytes += in_data
        if self._head_bytes > self._limits.max_header_bytes:
            return False
        self._head_done()
        self._body_record, self._recorded = [], 0
        self._record_for = self._request_count + 1  # once the parser has this head
        self._record(data[in_data:])
        return True

    def _record(self, data: bytes) -> None:
        assert self._body_record is not None
        self._recorded += len(data)
        if self._recorded > MAX_RECORDED_BODY:
            self._body_record = None
        elif data:
            self._body_record.append(data)

    def _head_done(self) -> None:
        self._awaiting_head = False
        self._head_bytes, self._head_tail = 0, b""
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None
        if self._body_watch is None:
            self._watch_body_in(self._limits.body_idle_timeout_seconds)

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self._awaiting_head and self.transport is not None:
            log.info("request_head_timed_out", peer=_peer(self), bytes=self._head_bytes)
            self.force_close()

    def _refuse_head(self) -> None:
        log.info("request_head_too_large", peer=_peer(self), limit=self._limits.max_header_bytes)
        if self.transport is not None:
            self.transport.write(raw_answer(431, HEADS_TOO_LARGE))
        self.force_close()

    def _watch_body_in(self, seconds: float) -> None:
        self._body_watch = self._loop.call_later(seconds, self._check_body)

    def _check_body(self) -> None:
        """While a request's body is awaited: fail it once its client sent nothing for the
        body idle timeout. Looked at again when that could next be the case."""
        self._body_watch = None
        idle = self._limits.body_idle_timeout_seconds
        request = self._current_request
        if request is None:
            if self._messages or self._request_in_progress:
                self._watch_body_in(idle)  # the request is about to be handled
            return
        body = request.content
        if body.is_eof() or body.exception() is not None or self.transport is None:
            return
        silent = self._loop.time() - self._last_bytes_at
        if not self.transport.is_reading():
            self._watch_body_in(idle)  # the catalog stopped reading: the client waits for it
        elif silent < idle:
            self._watch_body_in(idle - silent)
        else:
            log.info("request_body_timed_out", peer=_peer(self), idle_seconds=idle)
            self._close_after_answer = True
            timed_out = RequestTimeout(f"The request's body sent nothing for {idle:g} seconds.")
            if self._receiver is not None:
                self._receiver.fail(timed_out)
            else:
                body.set_exception(timed_out)


def _peer(handler: RequestHandler) -> str:
    peer = handler.peername
    return str(peer[0]) if isinstance(peer, tuple) else str(peer)
