"""TikTok's facts are written once: the schema, the retry decision, the messages and the batching
rule all read them from ``facts``."""

from __future__ import annotations

import pytest

from tiktok_destination import facts, settings
from tiktok_destination.delivery import batching
from tiktok_destination.delivery.messages import config_problem
from tiktok_destination.delivery.retry import decide


def test_the_settings_schema_agrees_with_the_facts() -> None:
    properties = settings.schema()["properties"]
    assert properties["api_url"]["default"] == facts.API_URL
    assert properties["batch_size"]["maximum"] == facts.MAX_EVENTS_PER_REQUEST
    assert set(facts.SOURCE_SETTING.values()) <= set(properties)
    assert settings.DeliveryConfig("t").api_url == facts.API_URL


@pytest.mark.parametrize("code", sorted(facts.CODES))
def test_the_retry_decision_and_the_message_read_one_code_table(code: int) -> None:
    entry = facts.CODES[code]
    assert decide(200, code) is entry.decision
    if entry.message is not None:
        message = config_problem(code, "PROBLEM", "web", "PIXEL1")
        assert "PROBLEM" in message and "{" not in message
        assert message == entry.message.format(
            problem="PROBLEM", source="web", source_id="PIXEL1", setting="pixel_id"
        )


def test_codes_outside_the_table() -> None:
    assert decide(200, 51234) is facts.Decision.RETRY
    assert decide(200, 49999) is facts.Decision.FAIL
    assert config_problem(None, "HTTP 401", "web", "P") == facts.CONFIG_MESSAGE.format(
        problem="HTTP 401"
    )


def test_chunks_cut_by_count_and_by_bytes() -> None:
    assert list(batching.chunks([1, 2, 3, 4, 5], 2)) == [[1, 2], [3, 4], [5]]
    sizes = {"a": 4, "b": 4, "c": 9, "d": 1}
    runs = batching.chunks(list("abcd"), 10, max_bytes=8, size_of=sizes.__getitem__)
    assert list(runs) == [["a", "b"], ["c"], ["d"]]  # c alone is over the cap: it goes alone


def test_test_events_go_one_per_request() -> None:
    test: batching.Key = ("web", "P", "TEST1")
    plain: batching.Key = ("web", "P", None)
    members = [(test if n < 3 else plain, n, {"event_id": n}) for n in range(6)]
    found = batching.batches(members, 1000)
    assert [batch.indices for batch in found] == [[0], [1], [2], [3, 4, 5]]
    assert found[0].body()["test_event_code"] == "TEST1" and "test_event_code" not in found[3].head
    assert [half.indices for half in found[3].halves()] == [[3], [4, 5]]
