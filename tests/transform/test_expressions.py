"""Path getters: the ones fitted to a depth read exactly what the general walk reads."""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tiktok_destination.expressions import _object_walk, path_getter

KEYS = st.sampled_from(["a", "b", "c"])
LEAVES = st.one_of(
    st.none(), st.booleans(), st.integers(), st.text(max_size=2), st.just([]), st.just({})
)
NODES = st.recursive(
    LEAVES,
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=12,
)


@given(node=NODES, keys=st.lists(KEYS, min_size=1, max_size=5))
@example(node={"a": {"b": {"c": 0}}}, keys=["a", "b", "c"])
@example(node={"a": {"b": ""}}, keys=["a", "b"])
@example(node={"a": False}, keys=["a"])
@example(node=[{"a": 1}], keys=["a"])
def test_fitted_getters_read_what_the_general_walk_reads(node: Any, keys: list[str]) -> None:
    expected = _object_walk(tuple(keys))(node)
    got = path_getter(".".join(keys))(node)
    assert got is expected or got == expected
    assert type(got) is type(expected)
