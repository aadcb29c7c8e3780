"""The api_url rule: where the access token may be sent (README "Settings").

A URL is judged the way the HTTP client will connect to it, by urllib3's own parser (the one
``requests`` uses), not by a second reading that could disagree with it: https to any host, plain
http only to a loopback host (a local test server), no user name or password (``requests`` would
send them as Basic auth), no backslash, whitespace or control character (parsers disagree on
where such a host ends). Settings validation and delivery both ask ``problem``; delivery asks
again about the URL it actually prepared, just before sending, and ``direct`` whether it may go
through a proxy.
"""

from __future__ import annotations

import ipaddress
import re

from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

RULE = "must be https (plain http only to a loopback host)"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.removeprefix("[").removesuffix("]")).is_loopback
    except ValueError:
        return False


def problem(url: str) -> str | None:
    """What is wrong with ``url`` as the address the token is sent to, or ``None``."""
    if "\\" in url:
        return "must not contain a backslash"
    if any(char.isspace() or not char.isprintable() for char in url):
        return "must not contain spaces or control characters"
    try:
        parts = parse_url(url)
    except LocationParseError:
        return "is not a URL the HTTP client can read"
    authority = re.split(r"[/?#]", url.partition("://")[2], maxsplit=1)[0]
    if parts.auth is not None or "@" in authority:
        return "must not hold a user name or password (user:password@)"
    if not parts.host:
        return "must name a host"
    if parts.scheme == "https" or (parts.scheme == "http" and _is_loopback(parts.host)):
        return None
    return RULE


def direct(url: str) -> bool:
    """Whether ``url`` is reached without any proxy the environment names (``HTTP_PROXY``,
    ``HTTPS_PROXY``, ``ALL_PROXY``): a loopback host (a proxy would reach its own loopback, and
    read plain http) and any plain http (a proxy would read the token). Elsewhere a proxy only
    ever relays https, through a tunnel it cannot read."""
    try:
        parts = parse_url(url)
    except LocationParseError:
        return True
    return parts.scheme != "https" or _is_loopback(parts.host or "")
