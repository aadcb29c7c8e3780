"""The canonical bytes a derived ``event_id`` hashes: ``orjson``'s when they are the standard
library's, else the standard library's; either way, the bytes the ``json`` module writes."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from support.profiles import examples

from tiktok_destination.transform.canonical import canonical_json

STANDARD = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)

texts = st.text() | st.sampled_from(
    [":null,", "[1e-05]", ",0.00001}", "\x7f", "é", "\ud800", "\u2028", "\x00\x1f", '"\\/']
)
numbers = (
    st.integers()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.floats(-1e-3, 1e-3)
    | st.sampled_from([1e16, 1e-5, 1e-4, 1.5e-7, 1e21, 1e300, -0.0, 5e-324, 0.1, 19.99])
)
scalars = st.none() | st.booleans() | numbers | texts
json_like = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)


def standard_bytes(value: Any) -> bytes:
    return STANDARD.encode(value).encode("ascii")


@settings(max_examples=examples(1000))
@given(event=st.dictionaries(texts, json_like, max_size=6))
def test_the_bytes_are_the_standard_librarys(event: dict[str, Any]) -> None:
    assert canonical_json(event) == standard_bytes(event)


@pytest.mark.parametrize(
    "value",
    [
        {"a": math.nan},
        {"a": [math.inf, -math.inf]},
        {"a": 1e-05, "b": "x"},
        {"a": 2**70},
        {"a": "\ud800"},
        {"a": "é", "b": "\x7f"},
        {1: "a key that is not text"},
        {"at": datetime(2026, 1, 2, tzinfo=timezone.utc)},
        {"b": 1, "a": {"d": [1.5, None, True], "c": "x"}},
    ],
)
def test_what_orjson_writes_apart_is_written_by_json(value: dict[Any, Any]) -> None:
    assert canonical_json(value) == standard_bytes(value)


def test_circular_and_deep_events_raise_as_json_does() -> None:
    circular: dict[str, Any] = {}
    circular["self"] = circular
    with pytest.raises((ValueError, RecursionError)):
        canonical_json(circular)
    deep: Any = "leaf"
    for _ in range(100_000):
        deep = {"a": deep}
    with pytest.raises(RecursionError):
        canonical_json(deep)
