"""The manifest's schema and ``ui_schema`` rendered by react-jsonschema-form in headless Chromium.

The page runs the README's host snippet (Ajv's draft 2020-12 build as validator); see
``form_page``. A screenshot of the form is saved in ``test-artifacts/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser
from support.form_page import ARTIFACTS, ROOT, FormPage, open_browser, page_dir
from support.settings_cases import BAD, GOOD, MINIMAL, VALIDATE_ONLY

from tiktok_destination import plugin
from tiktok_destination.fields import FIELD_NAMES

MANIFEST: dict[str, Any] = plugin.cdp_destination_manifest()
PROPERTIES: dict[str, Any] = MANIFEST["settings_schema"]["properties"]
EXAMPLE: dict[str, Any] = {
    **json.loads((ROOT / "examples" / "settings.json").read_text("utf-8")),
    "access_token": "example-token",  # the shipped example leaves it to TIKTOK_ACCESS_TOKEN
}
# Every setting given a value, so that every one of them has inputs to look at.
FULL: dict[str, Any] = {
    **EXAMPLE,
    "offline_event_set_id": "OFFLINE1",
    "crm_event_set_id": "CRM1",
    "test_event_code": "TEST1",
    "smart_mapping": {"event_source": {"value": "app"}, "user_email": ["user.a", "{{user.b}}"]},
    "custom_user_properties": [{"name": "tier", "value": "user.tier"}],
    "required_consent": ["ads"],
    "lowercase_user_id": False,
    "api_url": "https://example.com/track",
    "batch_size": 500,
    "timeout_s": 5,
    "max_retries": 2,
}
# Each control's id, type, value and the text of the labels that name it.
CONTROLS_JS = """() => [...document.querySelectorAll('form input, form select, form textarea')].map(
  (control) => ({
    id: control.id,
    type: control.type,
    value: control.value,
    checked: control.checked,
    labels: [...(control.labels || [])].map((label) => label.textContent.trim()),
    options: control.tagName === 'SELECT' ? [...control.options].map((o) => o.textContent) : [],
  }))"""
BRANCH_PICKER = re.compile(r"__(one|any)of_select$")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with open_browser() as opened:
        yield opened


@pytest.fixture(scope="module")
def folder() -> Path:
    return page_dir()


@pytest.fixture(scope="module")
def tab(browser: Browser, folder: Path) -> Iterator[FormPage]:
    opened = FormPage(browser, folder)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def form(tab: FormPage) -> FormPage:
    """The page, its console complaints forgotten: each test mounts a fresh form."""
    tab.complaints.clear()
    return tab


def show(form: FormPage, settings: dict[str, Any]) -> bool:
    """Render the form holding ``settings``, validate it as Save does; True when valid."""
    form.page.evaluate("([manifest, settings]) => mount(manifest, settings)", [MANIFEST, settings])
    return bool(form.page.evaluate("validateShown()"))


def errors_shown(form: FormPage) -> str:
    return (
        form.page.inner_text(".panel-danger.errors") if form.page.query_selector(".errors") else ""
    )


def test_the_form_is_complete_labelled_and_clean(form: FormPage) -> None:
    assert show(form, FULL), errors_shown(form)
    assert errors_shown(form) == ""
    ARTIFACTS.mkdir(exist_ok=True)
    form.page.screenshot(path=ARTIFACTS / "settings-form.png", full_page=True)
    controls: list[dict[str, Any]] = form.page.evaluate(CONTROLS_JS)
    by_id = {control["id"]: control for control in controls}

    token = by_id["root_access_token"]
    assert token["type"] == "password" and token["value"] == FULL["access_token"]
    for key, spec in PROPERTIES.items():
        mine = [c for c in controls if re.match(rf"root_{key}($|[_-])", c["id"])]
        assert any(control["labels"] for control in mine), f"{key} has no labelled input"
        own = by_id.get(f"root_{key}")
        if own is not None:  # a setting with one input: labelled by its title
            assert own["labels"][0].rstrip("*") == spec["title"], own
    for name in FIELD_NAMES:  # one labelled input per smart-mapping field, named by the field
        labels = form.page.eval_on_selector_all(
            f"label[for^='root_smart_mapping_{name}']", "found => found.map(l => l.textContent)"
        )
        assert name in labels, name
    for control in controls:
        assert control["labels"] or BRANCH_PICKER.search(control["id"]), control
        assert not any(re.match(r"Option \d", option) for option in control["options"]), control
    assert not re.search(r"Option \d", form.page.inner_text("form"))

    advanced = form.page.query_selector("details")
    assert advanced is not None and advanced.get_attribute("open") is None
    assert advanced.query_selector("#root_api_url") and advanced.query_selector("#root_max_retries")
    advanced.eval_on_selector("summary", "summary => summary.click()")
    form.page.screenshot(path=ARTIFACTS / "settings-form-advanced.png", full_page=True)
    assert form.complaints == []


def test_the_example_settings_validate_clean(form: FormPage) -> None:
    assert "access_token" in EXAMPLE
    assert show(form, EXAMPLE), errors_shown(form)
    assert form.complaints == []


def test_settings_without_an_event_set_id_show_the_missing_id_error(form: FormPage) -> None:
    assert not show(form, {"access_token": "t"})
    shown = errors_shown(form)
    assert "must have required property 'Pixel ID'" in shown
    assert "must have required property 'App ID'" in shown
    field_errors = form.page.inner_text(".rjsf-field-error:has(> #root_pixel_id) .error-detail")
    assert "Pixel ID" in field_errors
    assert form.complaints == []


def test_an_unknown_smart_mapping_field_shows_an_error(form: FormPage) -> None:
    assert not show(form, {**MINIMAL, "smart_mapping": {"user_emial": "user.mail"}})
    assert "must NOT have additional properties" in errors_shown(form)
    field_errors = form.page.inner_text(
        ".rjsf-field-error:has(> #root_smart_mapping) .error-detail"
    )
    assert "must NOT have additional properties" in field_errors, errors_shown(form)
    assert form.page.query_selector("[id^='root_smart_mapping_user_emial']") is None
    # The form offers the field names only: no button adding a free-text key.
    assert form.page.query_selector("#root_smart_mapping .rjsf-object-property-expand") is None
    assert form.complaints == []


def test_a_constant_source_expression_shows_its_value_and_edits(form: FormPage) -> None:
    mapping = {"event_source": {"value": "app"}, "transaction_value": {"value": 12.5}}
    assert show(form, {**MINIMAL, "smart_mapping": mapping})
    page = form.page
    picked = page.eval_on_selector(
        "#root_smart_mapping_event_source__oneof_select", "s => s.options[s.selectedIndex].text"
    )
    assert picked == "Constant"
    assert page.input_value("#root_smart_mapping_event_source_value") == "app"
    assert page.input_value("#root_smart_mapping_transaction_value_value") == "12.5"
    page.fill("#root_smart_mapping_event_source_value", "offline")
    page.click("button[type=submit]")
    page.wait_for_function("window.saved.length === 1")
    saved = page.evaluate("window.saved[0]")
    assert saved["smart_mapping"] == {**mapping, "event_source": {"value": "offline"}}
    assert form.complaints == []


def test_an_advanced_setting_in_error_is_unfolded(form: FormPage) -> None:
    assert not show(form, {**MINIMAL, "batch_size": 0})
    assert form.page.get_attribute("details", "open") is not None
    assert form.page.is_visible(".rjsf-field-error:has(> #root_batch_size) .error-detail")
    assert form.complaints == []


def test_the_browsers_validator_agrees_with_the_table(form: FormPage) -> None:
    show(form, MINIMAL)
    cases = [(value, True) for value in GOOD + list(VALIDATE_ONLY.values())]
    cases += [(value, False) for value, _ in BAD]
    verdicts = form.page.evaluate(
        "cases => cases.map((value) => check(value).length === 0)", [value for value, _ in cases]
    )
    wrong = [
        value for (value, expected), got in zip(cases, verdicts, strict=True) if got != expected
    ]
    assert wrong == []
    assert form.complaints == []
