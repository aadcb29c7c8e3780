"""The ``user`` section of an event: who did it, hashed where TikTok asks (README, "Fields").

Reads click and cookie ids with their fallbacks (raw ``Cookie`` header, ``ttclid`` in the page
URL), hashes email, phone and external id, and adds the device ids of the event's platform.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any
from urllib.parse import unquote_plus

from tiktok_destination import hashing
from tiktok_destination.errors import DestinationError
from tiktok_destination.expressions import is_empty, path_getter
from tiktok_destination.facts import ATT_STATUSES
from tiktok_destination.mapping import (
    ANDROID_FIELDS,
    COOKIE_FALLBACKS,
    COOKIE_SOURCES,
    IOS_FIELDS,
    TARGETS,
    URL_FALLBACKS,
)
from tiktok_destination.quoting import quote
from tiktok_destination.settings import Config
from tiktok_destination.values import BadValue, to_json_value, to_locale, to_string

_COOKIE_GETTERS = tuple(path_getter(path) for path in COOKIE_SOURCES)
_USER_TEXTS = tuple(  # sent as read: ip and user_agent (click and cookie ids have fallbacks)
    (field, key)
    for field, (section, key) in TARGETS.items()
    if section == "user" and field not in COOKIE_FALLBACKS
)


class FieldProblem(DestinationError, ValueError):
    """A field whose value cannot be sent; the message names the field."""


def custom_value(value: Any, where: str) -> Any:
    """A custom property's value, when it is JSON TikTok can read."""
    try:
        return to_json_value(value)
    except BadValue as problem:
        raise FieldProblem(f"{where}: {problem}") from None


@cache
def _pair_pattern(name: str, separator: str) -> re.Pattern[str]:
    """``name=value`` as one item of a ``separator``-separated list (a cookie, a query)."""
    return re.compile(rf"(?:^|{separator})\s*{re.escape(name)}=([^{separator}]*)")


_UNREAD = object()


def _cookie_header(event: dict[str, Any]) -> Any:
    for getter in _COOKIE_GETTERS:
        raw = getter(event)
        if raw is not None:
            return raw
    return None


def cookie_value(raw: Any, name: str) -> str | None:
    """The first non-empty value of cookie ``name`` in a raw ``Cookie`` header (or a dict)."""
    if isinstance(raw, dict):
        value = raw.get(name)
        return None if is_empty(value) else str(value)
    if not isinstance(raw, str) or name not in raw:
        return None
    for match in _pair_pattern(name, ";").finditer(raw):
        value = match.group(1).strip().strip('"')
        if value:
            return value
    return None


def query_parameter(url: Any, name: str) -> str | None:
    """The first non-empty value of query parameter ``name`` in ``url``, decoded."""
    if not isinstance(url, str) or name not in url:
        return None
    query = url.partition("#")[0].partition("?")[2]
    for match in _pair_pattern(name, "&").finditer(query):
        if match.group(1):
            return unquote_plus(match.group(1))
    return None


def _hasher(key: str, config: Config) -> Callable[[str], str | None]:
    if key == "email":
        return hashing.hash_email
    if key == "phone":
        region = config.default_phone_region
        return lambda text: hashing.hash_phone(text, region)
    lowercase = config.lowercase_user_id
    return lambda text: hashing.hash_external_id(text, lowercase)


def hash_user_value(
    key: str, value: Any, config: Config, field: str, warnings: list[str]
) -> str | list[str] | None:
    """``value`` (one or a list) normalised and hashed for email, phone or external_id."""
    hasher = _hasher(key, config)
    values = value if isinstance(value, list) else [value]
    hashes = []
    for index, item in enumerate(values):
        if is_empty(item):
            continue
        try:
            text = to_string(item)
        except BadValue:  # the value is personal data: name its type, never echo it
            where = f"{field}[{index}]" if isinstance(value, list) else field
            raise FieldProblem(f"{where}: expected a string, got {type(item).__name__}") from None
        digest = hasher(text)
        if digest is not None:
            hashes.append(digest)
        elif key == "phone" and text.strip():
            region = config.default_phone_region
            problem = hashing.phone_problem(text, region)
            unread = problem.startswith("could not")
            hint = (
                " (set default_phone_region for national numbers)" if unread and not region else ""
            )
            warnings.append(f"{field}: left out a number that {problem}{hint}")
    if not hashes:
        return None
    return hashes if isinstance(value, list) else hashes[0]


def _text(config: Config, field: str, event: dict[str, Any]) -> str | None:
    value = config.fields[field](event)
    if value is None:
        return None
    try:
        return to_string(value).strip() or None
    except BadValue as problem:
        raise FieldProblem(f"{field}: {problem}") from None


def _att_status(value: str) -> str:
    """One of TikTok's ATT statuses, from any case and ``-`` or space separators."""
    status = value.strip().upper().replace(" ", "_").replace("-", "_")
    if status not in ATT_STATUSES:
        raise BadValue(f"expected one of {', '.join(ATT_STATUSES)}, got {quote(value)}")
    return status


def _browser_ids(event: dict[str, Any], config: Config, page_url: Any) -> dict[str, str]:
    """ttclid and ttp, with their cookie and page-URL fallbacks (web events only)."""
    ids = {}
    cookies = _UNREAD
    for field, key in (("click_id", "ttclid"), ("cookie_id", "ttp")):
        value = _text(config, field, event)
        if value is None:
            if cookies is _UNREAD:
                cookies = _cookie_header(event)
            value = cookie_value(cookies, COOKIE_FALLBACKS[field])
        if value is None and field in URL_FALLBACKS:
            value = query_parameter(page_url, URL_FALLBACKS[field])
        if value is not None:
            ids[key] = value
    return ids


def _device_ids(event: dict[str, Any], config: Config, warnings: list[str]) -> dict[str, str]:
    """The advertising ids of the event's platform (app events only)."""
    platform = _text(config, "device_platform", event)
    platform = platform.lower() if platform else None
    fields = IOS_FIELDS if platform == "ios" else ANDROID_FIELDS if platform == "android" else {}
    ids = {}
    for field, key in fields.items():
        text = _text(config, field, event)
        if text is not None:
            try:
                ids[key] = DEVICE_ID_FORMS[key](text)
            except BadValue as problem:
                warnings.append(f"{field}: left out, {problem}")
    return ids


# Clear-text IDFAs are upper case, GAIDs lower case; hashed ones lower case.
DEVICE_ID_FORMS: dict[str, Callable[[str], str]] = {
    "idfa": lambda text: hashing.prehashed(text) or text.upper(),
    "idfv": lambda text: hashing.prehashed(text) or text.upper(),
    "gaid": str.lower,
    "att_status": _att_status,
}


def build_user(
    event: dict[str, Any], config: Config, web: bool, page_url: Any, warnings: list[str]
) -> dict[str, Any]:
    """``data[0].user`` for ``event``; empty values are left out.

    Browser ids (ttclid, ttp) go with web events, advertising ids (idfa, idfv, att_status,
    gaid) with app events: TikTok reads each only there.
    """
    fields = config.fields
    user: dict[str, Any] = (
        _browser_ids(event, config, page_url) if web else _device_ids(event, config, warnings)
    )
    for field, key in (
        ("user_id", "external_id"),
        ("user_email", "email"),
        ("user_phone", "phone"),
    ):
        raw = fields[field](event)
        if raw is not None:
            hashed = hash_user_value(key, raw, config, field, warnings)
            if hashed is not None:
                user[key] = hashed
    for field, key in _USER_TEXTS:
        text = _text(config, field, event)
        if text is not None:
            user[key] = text
    language = fields["device_language"](event)
    if language is not None:
        try:
            user["locale"] = to_locale(language)
        except BadValue as problem:
            warnings.append(f"device_language: left out, {problem}")
    for name, getter in config.custom_user_properties:
        value = getter(event)
        if value is not None:
            user[name] = custom_value(value, f"custom_user_properties.{name}")
    return user
