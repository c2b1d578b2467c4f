"""/healthcheck, answered as oslo.middleware's healthcheck answers in front of Glance: any
method, no token; 200 (HEAD: 204) when the catalog can serve, else 503; the reasons as plain
text (`OK`), or as JSON or HTML when the Accept header prefers them (infra/health.py)."""

from __future__ import annotations

import html
import json

from aiohttp import web

from infra.health import Health, HealthCheck

HEALTH = web.AppKey("health", HealthCheck)
PATH = "/healthcheck"
"""Where load balancers probe: outside every API version, open to anyone."""

# The order breaks ties between equally acceptable types, as oslo.middleware's does.
OFFERS = ("text/plain", "text/html", "application/json")


def _quality(media_range: str) -> tuple[str, float]:
    kind, *params = (part.strip() for part in media_range.split(";"))
    quality = 1.0
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value)
            except ValueError:
                quality = 0.0
    return kind.lower(), quality


def _acceptable(offer: str, ranges: list[tuple[str, float]]) -> float:
    """How acceptable `offer` is: the quality of the most specific range matching it."""
    family = offer.split("/")[0] + "/*"
    for pattern in (offer, family, "*/*"):
        for kind, quality in ranges:
            if kind == pattern:
                return quality
    return 0.0


def preferred_type(accept: str) -> str:
    """The offered type the Accept header prefers; text/plain if it accepts none."""
    ranges = [_quality(part) for part in accept.split(",") if part.strip()]
    scored = [(_acceptable(offer, ranges), -rank, offer) for rank, offer in enumerate(OFFERS)]
    quality, _, offer = max(scored)
    return offer if quality > 0 else OFFERS[0]


def _html(health: Health) -> str:
    rows = "".join(
        f"<TR>\n    <TD>{html.escape(reason)}</TD>\n</TR>\n" for reason in health.reasons
    )
    return (
        "<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n"
        f"<H2>Result of {len(health.reasons)} checks:</H2>\n"
        '<TABLE bgcolor="#ffffff" border="1">\n<TBODY>\n<TR>\n<TH>\nReason\n</TH>\n</TR>\n'
        f"{rows}</TBODY>\n</TABLE>\n<HR></HR>\n</BODY>\n</HTML>"
    )


async def healthcheck(request: web.Request) -> web.Response:
    health = await request.app[HEALTH].health()
    if request.method == "HEAD":
        return web.Response(status=204 if health.available else 503)
    status = 200 if health.available else 503
    kind = preferred_type(request.headers.get("Accept", "*/*"))
    if kind == "application/json":
        body = json.dumps({"detailed": False, "reasons": health.reasons}, indent=4, sort_keys=True)
        return web.Response(status=status, body=body.encode(), content_type=kind)
    text = _html(health) if kind == "text/html" else "\n".join(health.reasons)
    return web.Response(status=status, text=text, content_type=kind, charset="utf-8")
