"""The http store: read-only, for images whose data stays at an http(s) URL."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Iterable,
    Mapping,
    Sequence,
)
from urllib.parse import urljoin, urlsplit

import aiohttp
from yarl import URL

from stores.base import Chunk, StoredData
from stores.errors import (
    InvalidLocation,
    StoreError,
    StoreNotFound,
    StoreReadOnly,
    StoreUnavailable,
)
from stores.http_safety import AddressPolicy, CheckedResolver, IPNetwork, numeric_addresses
from stores.streaming import READ_CHUNK_SIZE, check_range
from stores.url_filter import UrlFilter

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Answers that say "not now" rather than "not this": the request timed out, or came too often.
_TRY_LATER = frozenset({408, 429})
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class HttpStore:
    """Image data at http(s) URLs that the catalog reads but never writes or deletes.

    Every address a request connects to is checked (`http_safety`): a location cannot reach
    loopback, link-local or private addresses unless they are in `allowed_networks`. Redirects
    are followed here, at most `max_redirects`, each one checked like the first URL. A
    `url_filter` also checks each URL's scheme, host and port (an import's URLs).
    """

    scheme = "http"
    schemes: tuple[str, ...] = ("http", "https")

    def __init__(
        self,
        *,
        allowed_networks: Iterable[str | IPNetwork] = (),
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
        max_redirects: int = 5,
        url_filter: UrlFilter | None = None,
    ) -> None:
        if max_redirects < 0:
            raise ValueError("max_redirects must not be negative")
        self.policy = AddressPolicy(allowed_networks)
        self.max_redirects = max_redirects
        self.url_filter = url_filter or UrlFilter()
        # `connect` also bounds name resolution, which `sock_connect` alone does not.
        self._timeout = aiohttp.ClientTimeout(
            connect=connect_timeout, sock_connect=connect_timeout, sock_read=read_timeout
        )
        self._session: aiohttp.ClientSession | None = None

    def owns(self, location: str) -> bool:
        """Whether `location` is an http(s) URL; whether it may be reached is `check_location`."""
        return urlsplit(location).scheme in self.schemes

    def location_for(self, key: str) -> str:
        """Always `StoreReadOnly`: nothing is written to this store."""
        raise StoreReadOnly("the http store is read-only: image data cannot be added to it")

    def key_of(self, location: str) -> str:
        """Always `StoreReadOnly`: nothing is written to this store, so nothing has a key."""
        raise StoreReadOnly("the http store is read-only: its locations have no keys")

    async def add(
        self,
        key: str,
        chunks: AsyncIterable[Chunk],
        *,
        max_size: int | None = None,
        also_digest: Sequence[str] = (),
    ) -> StoredData:
        """Always `StoreReadOnly`, without reading `chunks` (closed if a generator)."""
        if isinstance(chunks, AsyncGenerator):
            await chunks.aclose()
        raise StoreReadOnly("the http store is read-only: image data cannot be added to it")

    async def get(
        self,
        location: str,
        *,
        offset: int = 0,
        length: int | None = None,
        credentials: Mapping[str, str] | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """The bytes at the URL, as a `Range` request when a part is asked for; see
        `ImageStore.get`. A server that ignores `Range` is read from the start and trimmed.
        `credentials`: headers sent to the URL's own origin only, never to another that a
        redirect leads to (a token for another image service)."""
        check_range(offset, length)
        headers = dict(credentials or {})
        if offset or length is not None:
            end = "" if length is None else str(offset + length - 1)
            headers["Range"] = f"bytes={offset}-{end}"
        if length == 0:
            await self.size(location)  # nothing to read, but missing data is still an error
            return
        async with self._request("GET", location, headers, credentials) as response:
            if response.status == 416 and "Range" in headers:
                return  # the offset is at or past the end
            _raise_for_status(response, location)
            # A server that ignores Range sends everything from the start: skip and trim here.
            start = _first_byte(response, location) if response.status == 206 else 0
            if start > offset:
                raise StoreError(f"the server of {_shown(location)} skipped bytes asked for")
            skip = offset - start
            remaining = length
            async for chunk in _chunks(response, location):
                if skip:
                    dropped = min(skip, len(chunk))
                    chunk, skip = chunk[dropped:], skip - dropped
                if remaining is not None:
                    chunk = chunk[:remaining]
                    remaining -= len(chunk)
                if chunk:
                    yield chunk
                if remaining == 0:
                    return

    async def delete(self, location: str) -> None:
        """Nothing: the data belongs to whoever serves it."""

    async def size(self, location: str) -> int:
        """The Content-Length of a HEAD answer, or of a GET's headers if HEAD gives none."""
        async with self._request("HEAD", location, {}) as response:
            if response.status == 200 and response.content_length is not None:
                return response.content_length
            if response.status in (404, 410):
                _raise_for_status(response, location)
        # Some servers refuse or answer HEAD without a size (and URLs signed for GET only are
        # refused with 403): ask with GET, and read its headers only.
        async with self._request("GET", location, {}) as response:
            _raise_for_status(response, location)
            if response.content_length is not None:
                return response.content_length
        raise StoreError(f"the server of {_shown(location)} does not tell the data's size")

    async def check_location(self, location: str) -> None:
        """`InvalidLocation` if `location` is not an http(s) URL this store may reach, checked
        without fetching it: its host is resolved (all address families) and every address
        checked. `StoreUnavailable` if the name cannot be resolved in time."""
        url = self._checked_url(location)
        host = url.raw_host or ""
        if numeric_addresses(host) is not None:
            return  # already checked as written
        resolver = CheckedResolver(self.policy)
        try:
            async with asyncio.timeout(self._timeout.connect):
                await resolver.resolve(host)
        except TimeoutError:
            raise StoreUnavailable(f"the location's host {host} cannot be resolved now") from None
        finally:
            await resolver.close()

    async def close(self) -> None:
        """Close the HTTP session and its connections, if one was opened."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    @contextlib.asynccontextmanager
    async def _request(
        self,
        method: str,
        location: str,
        headers: dict[str, str],
        credentials: Mapping[str, str] | None = None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        session = self._connected()
        url = self._checked_url(location)
        origin = url.origin()
        try:
            for _ in range(self.max_redirects + 1):
                response = await session.request(
                    method, url, headers=headers, allow_redirects=False
                )
                if response.status not in _REDIRECTS:
                    break
                target = response.headers.get("Location")
                response.release()
                if target is None:
                    raise StoreError(f"{_shown(location)} redirects nowhere")
                url = self._checked_url(urljoin(str(url), target))
                if credentials and url.origin() != origin:
                    headers = {k: v for k, v in headers.items() if k not in credentials}
            else:
                raise InvalidLocation(
                    f"{_shown(location)} redirects more than {self.max_redirects} times"
                )
            try:
                yield response
            finally:
                # Closes the connection if the body was not read to the end: never drains it.
                response.release()
        except aiohttp.InvalidURL:
            # Not chained: aiohttp's message repeats the URL, credentials and all.
            raise InvalidLocation(f"not a valid URL: {_shown(location)}") from None
        except (TimeoutError, aiohttp.ClientError) as e:
            # A refused address is not among these: the resolver's InvalidLocation goes through.
            raise StoreUnavailable(f"cannot read {_shown(location)}: {type(e).__name__}") from e

    def _checked_url(self, location: str) -> URL:
        try:
            url = URL(location)
        except ValueError:
            raise InvalidLocation("not a valid URL") from None  # the message may quote it
        if url.scheme not in self.schemes or not url.raw_host:
            raise InvalidLocation(f"not an http(s) location: {_shown(location)}")
        self.url_filter.check(url)
        # aiohttp connects to hosts written as addresses without asking the resolver.
        self.policy.check_host(url.raw_host)
        return url

    def _connected(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(resolver=CheckedResolver(self.policy))
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=self._timeout,
                # The bytes as stored, never a compressed or decompressed form: sizes, ranges
                # and checksums all refer to them.
                headers={"Accept-Encoding": "identity"},
                auto_decompress=False,
                # A proxy from the environment would connect to addresses never checked here.
                trust_env=False,
            )
        return self._session


async def _chunks(response: aiohttp.ClientResponse, location: str) -> AsyncIterator[bytes]:
    try:
        async for chunk in response.content.iter_chunked(READ_CHUNK_SIZE):
            yield chunk
    except (TimeoutError, aiohttp.ClientError) as e:
        raise StoreUnavailable(f"reading {_shown(location)} failed: {type(e).__name__}") from e


def _raise_for_status(response: aiohttp.ClientResponse, location: str) -> None:
    """The store error an answer other than the data (200, or 206 for a range) stands for."""
    status = response.status
    if status in (404, 410):
        raise StoreNotFound(f"no data at {_shown(location)}")
    if status >= 500 or status in _TRY_LATER:
        raise StoreUnavailable(f"the server of {_shown(location)} answered {status}")
    if status >= 400:
        # The URL names something this store may not read (401, 403, ...): a bad location.
        raise InvalidLocation(f"the server of {_shown(location)} refused it: {status}")
    if status not in (200, 206):
        raise InvalidLocation(f"the server of {_shown(location)} answered {status}, not data")


def _first_byte(response: aiohttp.ClientResponse, location: str) -> int:
    """Where the bytes of a 206 answer start, from its Content-Range."""
    described = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
    if described is None:
        raise StoreError(f"the server of {_shown(location)} sent a range it does not describe")
    return int(described[1])


def _shown(location: str) -> str:
    """The location without credentials, for messages and logs."""
    parts = urlsplit(location)
    netloc = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}{parts.path}"
