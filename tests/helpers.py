"""What the tests share besides fixtures (those are in ``conftest``)."""

from __future__ import annotations

from functools import cache

from jsonschema import Draft202012Validator

from tiktok_destination import resources

TOKEN = "tt-SECRET-7f3a9c0e-never-print-me"
"""A distinctive token, searched for in every log, outcome and repr."""
OUTPUT_SCHEMA = "schemas/event-track-request.schema.json"


@cache
def output_validator() -> Draft202012Validator:
    """The Events API 2.0 request schema, itself checked, as a validator.

    Tests take it as the ``output_schema`` fixture; property-test helpers call this directly.
    """
    schema = resources.load_json(OUTPUT_SCHEMA)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)
