"""The field records are sound: what a new record must satisfy before the transform walks it."""

from __future__ import annotations

import pytest

from tiktok_destination.facts import EVENT_SOURCES
from tiktok_destination.fields import FIELD_NAMES, FIELDS, SECTIONS, Field, Query
from tiktok_destination.transform.readers import READERS
from tiktok_destination.transform.sections import applies, plan


def test_names_are_unique() -> None:
    assert len(FIELD_NAMES) == len(set(FIELD_NAMES))


@pytest.mark.parametrize("field", FIELDS, ids=FIELD_NAMES)
def test_a_record_names_what_exists(field: Field) -> None:
    assert field.read is None or field.read in READERS
    if field.target is not None and field.read is not None:  # walked: lands in a section
        assert field.target[0] in SECTIONS
    if field.hashing is not None:
        assert field.target is not None and field.target[0] == "user"
    read_before = [
        *(
            name
            for fallback in field.fallbacks
            if isinstance(fallback, Query)
            for name in (fallback.of, fallback.same_host_as)
            if name is not None
        ),
        *([field.default_from] if field.default_from is not None else []),
    ]
    for name in read_before:  # read from a field of a section built before
        source = next(other for other in FIELDS if other.name == name)
        assert source.target is not None and field.target is not None
        assert SECTIONS.index(source.target[0]) < SECTIONS.index(field.target[0])
    assert field.on_bad in ("invalid", "warn")


def test_scopes_choose_the_events_a_field_is_read_for() -> None:
    def sources(**scope: str) -> list[str]:
        record = Field("x", (), ("user", "x"), **scope)  # type: ignore[arg-type]
        return [source for source in EVENT_SOURCES if applies(record, source, None)]

    assert sources() == ["web", "app", "offline", "crm"]
    assert sources(scope="web") == ["web", "offline", "crm"]
    assert sources(scope="app") == ["app"]
    assert sources(scope="crm") == ["crm"]
    ios = Field("x", (), ("user", "x"), scope="app", platform="ios")
    assert applies(ios, "app", "ios") and not applies(ios, "app", "android")


def test_the_walk_reads_each_record_once_where_it_applies() -> None:
    for source in EVENT_SOURCES:
        for platform in (None, "ios", "android"):
            walked = [step.name for steps in plan(source, platform).values() for step in steps]
            assert len(walked) == len(set(walked))
            expected = [
                f.name
                for f in FIELDS
                if f.read is not None and f.target is not None and applies(f, source, platform)
            ]
            assert sorted(walked) == sorted(expected)
