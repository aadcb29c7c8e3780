"""The settings schema and the manifest's ``ui_schema``: each kept equal to the code it describes,
and the schema's verdict kept equal to ``validate_settings`` except where docs/settings-form.md
says not."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from support.profiles import examples
from support.settings_cases import BAD, GOOD, MINIMAL, TOKEN, VALIDATE_ONLY
from test_golden import CASES, EVENTS, _settings
from test_properties import VARIANTS

from tiktok_destination import destination, settings
from tiktok_destination.facts import SOURCE_SETTING
from tiktok_destination.fields import FIELD_NAMES

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "settings-form.md").read_text(encoding="utf-8")
SCHEMA = settings.schema()
PROPERTIES: dict[str, Any] = SCHEMA["properties"]
UI: dict[str, Any] = destination.manifest()["ui_schema"]
SCHEMA_VALIDATOR = Draft202012Validator(SCHEMA)


def schema_accepts(value: Any) -> bool:
    return bool(SCHEMA_VALIDATOR.is_valid(value))


def test_smart_mapping_offers_exactly_the_field_names() -> None:
    smart = PROPERTIES["smart_mapping"]
    assert tuple(smart["properties"]) == FIELD_NAMES, (
        "one line per field in smart_mapping.properties, in the order of mapping.FIELDS"
    )
    assert smart["additionalProperties"] is False
    assert all(
        spec == {"$ref": "#/$defs/source_expression"} for spec in smart["properties"].values()
    )


def test_one_event_set_id_is_required_by_the_schema() -> None:
    assert SCHEMA["anyOf"] == [{"required": [key]} for key in SOURCE_SETTING.values()]


def test_phone_regions_are_the_phone_librarys() -> None:
    regions = SCHEMA["$defs"]["phone_region"]["enum"]
    assert regions == sorted(phonenumbers.SUPPORTED_REGIONS), (
        "regenerate the enum from phonenumbers"
    )
    assert PROPERTIES["default_phone_region"]["$ref"] == "#/$defs/phone_region"


def _branches(node: Any) -> list[dict[str, Any]]:
    """Every oneOf/anyOf branch in the schema except the root's required-only anyOf."""
    found: list[dict[str, Any]] = []
    if isinstance(node, dict):
        for keyword in ("oneOf", "anyOf"):
            if node is not SCHEMA or keyword != "anyOf":
                found += node.get(keyword, [])
        for value in node.values():
            found += _branches(value)
    elif isinstance(node, list):
        for value in node:
            found += _branches(value)
    return found


def test_every_branch_a_form_offers_has_a_title() -> None:
    branches = _branches(SCHEMA)
    titles = [branch.get("title") for branch in branches]
    assert "Property path" in titles and "Constant" in titles and "Fallback list" in titles
    assert all(titles), titles


def test_the_root_any_of_is_rendered_as_the_object_itself() -> None:
    assert UI["ui:field"] == "ObjectField" and UI["ui:fieldReplacesAnyOrOneOf"] is True


def test_ui_schema_names_only_settings_and_orders_them_all() -> None:
    order = UI["ui:order"]
    assert sorted(order) == sorted(PROPERTIES), "every setting once in plugin.json's ui:order"
    assert {key for key in UI if not key.startswith("ui:")} <= set(PROPERTIES)


def test_secrets_are_password_inputs() -> None:
    secret = {key for key, spec in PROPERTIES.items() if spec.get("writeOnly")}
    password = {
        key for key, ui in UI.items() if isinstance(ui, dict) and ui.get("ui:widget") == "password"
    }
    assert secret == password == settings.SECRET_KEYS


def test_advanced_settings_come_last() -> None:
    advanced = [
        key for key in UI["ui:order"] if UI.get(key, {}).get("ui:options", {}).get("advanced")
    ]
    assert "api_url" in advanced and "batch_size" in advanced
    assert UI["ui:order"][-len(advanced) :] == advanced


def test_ui_definitions_fit_the_schema_definitions() -> None:
    for ref, ui in UI["ui:definitions"].items():
        name = ref.removeprefix("#/$defs/")
        assert ref == f"#/$defs/{name}" and name in SCHEMA["$defs"]
        for keyword in ("oneOf", "anyOf"):
            if keyword in ui:  # react-jsonschema-form pairs these lists by position
                assert len(ui[keyword]) == len(SCHEMA["$defs"][name][keyword])


def test_api_url_help_names_what_its_rule_accepts() -> None:
    spec, help_text = PROPERTIES["api_url"], UI["api_url"]["ui:help"]
    assert "empty" not in (spec["description"] + help_text).lower()
    hosts = re.findall(r"localhost|127\.0\.0\.1|\[::1\]", spec["description"])
    assert len(hosts) == 3 and "loopback" in help_text
    for host in hosts:
        assert settings.validate({**MINIMAL, "api_url": f"http://{host}:9/x"}) == []
    assert settings.validate({**MINIMAL, "api_url": "http://example.com/x"})
    assert settings.validate({**MINIMAL, "api_url": spec["default"]}) == []


def test_example_and_golden_settings_validate_against_the_schema() -> None:
    example = json.loads((ROOT / "examples" / "settings.json").read_text(encoding="utf-8"))
    assert "access_token" not in example  # the command line takes it from TIKTOK_ACCESS_TOKEN
    examples = [{**example, "access_token": "from-the-environment"}]
    golden = [
        _settings(json.loads((EVENTS / f"{case}.json").read_text()).get("settings", {}))
        for case in CASES
    ]
    variants = [variant["settings"] for variant in VARIANTS.values()]
    for value in examples + golden + variants:
        assert schema_accepts(value), value
        assert settings.validate(value) == [], value


@pytest.mark.parametrize("value", GOOD)
def test_good_settings_pass_both(value: dict[str, Any]) -> None:
    assert schema_accepts(value)
    assert settings.validate(value) == []


@pytest.mark.parametrize(("value", "key"), BAD)
def test_bad_settings_fail_both_naming_the_key(value: dict[str, Any], key: str) -> None:
    assert not schema_accepts(value)
    problems = settings.validate(value)
    assert problems and problems[0].startswith(key + ":"), problems


@pytest.mark.parametrize("key", VALIDATE_ONLY)
def test_rules_only_validate_settings_checks(key: str) -> None:
    value = VALIDATE_ONLY[key]
    assert schema_accepts(value)
    assert [problem.split(":")[0] for problem in settings.validate(value)] == [key]


def test_readme_lists_the_rules_only_validate_settings_checks() -> None:
    section = PAGE.split("## Rules only `validate_settings` checks", 1)[1].split("\n#", 1)[0]
    rows = [line.split("|")[1] for line in section.splitlines() if line.startswith("| `")]
    named = {name for row in rows for name in re.findall(r"`([a-z_]+)`", row)}
    assert named == {re.split(r"[.\[]", key)[0] for key in VALIDATE_ONLY}


def _fallback_lists(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=3)


VALUES: dict[str, st.SearchStrategy[Any]] = {
    "access_token": st.sampled_from([TOKEN, "", 5]),
    "pixel_id": st.sampled_from(["P", "", None]),
    "app_id": st.sampled_from(["7", ""]),
    "default_phone_region": st.sampled_from(["FR", "US", "fr", "ZZ", "001", 33]),
    "api_url": st.sampled_from(
        [
            "https://a.example/x",
            "http://localhost:1/x",
            "http://a.example/x",
            "",
            "ftp://x",
            "http://[::1/",
        ]
    ),
    "event_mapping": st.lists(
        st.fixed_dictionaries(
            {"event": st.sampled_from(["refund", "purchase", ""]), "tiktok_event": st.just("X")},
            optional={"event_source": st.sampled_from(["web", "app", "tv"])},
        ),
        max_size=3,
    ),
    "smart_mapping": st.dictionaries(
        st.sampled_from([*FIELD_NAMES[:4], "user_emial", "newKey"]),
        st.recursive(
            st.sampled_from(["user.a", "{{user.a}} {{user.b}}", "", "{{", 5, None])
            | st.builds(
                lambda v: {"value": v}, st.sampled_from(["app", 0, 1.5, False, None, [], {}])
            ),
            _fallback_lists,
            max_leaves=4,
        ),
        max_size=3,
    ),
    "custom_user_properties": st.lists(
        st.fixed_dictionaries(
            {"name": st.sampled_from(["tier", "email", "a.b", ""]), "value": st.just("x")}
        ),
        max_size=2,
    ),
    "batch_size": st.sampled_from([1, 1000, 0, 1001, 2.5, "10", True]),
    "timeout_s": st.sampled_from([0.5, 10, 0, -1, 301, "10"]),
    "view_content_events": st.lists(st.sampled_from(["page_view", "view_item", "x"]), max_size=3),
    "batch_sise": st.just(10),
}
ONLY_VALIDATE_KEYS = re.compile(
    r"^(api_url|event_mapping\[\d+\]|custom_(event|user)_properties\[\d+\]\.name):"
)


@hypothesis_settings(max_examples=examples(2000))
@given(st.fixed_dictionaries({}, optional=VALUES))
def test_the_schema_and_validate_settings_agree(value: dict[str, Any]) -> None:
    value = {key: item for key, item in value.items() if item is not None}
    problems = settings.validate(value)
    assert all(re.match(r"^[a-z_A-Z]+[.\[:]", problem) for problem in problems), problems
    assert not any(TOKEN in problem for problem in problems)
    if schema_accepts(value):
        assert all(ONLY_VALIDATE_KEYS.match(problem) for problem in problems), problems
    else:
        assert problems
    if not problems:
        settings.make_config(value)
