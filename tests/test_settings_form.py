"""The manifest's schema and ``ui_schema`` rendered by react-jsonschema-form in headless Chromium.

The page runs the host snippet of docs/settings-form.md (Ajv's draft 2020-12 build as validator);
see ``form_page``. The form is measured at 1,200 px wide against its height budget, every
smart-mapping field is read back (title, help, default sources from its ``Field`` record), and
the screenshots docs/settings-form.md shows are refreshed in ``docs/images/``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from support.form_page import ARTIFACTS, ROOT, WIDTH_PX, FormPage, open_browser, page_dir
from support.settings_cases import BAD, GOOD, MINIMAL, VALIDATE_ONLY

from tiktok_destination import form as form_words
from tiktok_destination import plugin
from tiktok_destination.facts import STANDARD_EVENTS
from tiktok_destination.fields import FIELDS, Field

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
LEGENDS = "found => found.map((legend) => legend.textContent)"
BRANCH_PICKER = re.compile(r"__(one|any)of_select$")
IMAGES = ROOT / "docs" / "images"
HEIGHT_BUDGET_PX = 6000
"""Issue 19: at most about half the 12,369 px the form was, at its defaults and 1,200 px wide."""
SUMMARIES_JS = """() => [...document.querySelectorAll('form details > summary')].map((summary) => ({
  text: summary.textContent.trim(),
  open: summary.parentElement.open,
  marker: getComputedStyle(summary).display,
}))"""


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


def mount(form: FormPage, settings: dict[str, Any]) -> None:
    """Render the form holding ``settings``, as a host first shows it (nothing validated yet)."""
    form.page.evaluate("([manifest, settings]) => mount(manifest, settings)", [MANIFEST, settings])


def show(form: FormPage, settings: dict[str, Any]) -> bool:
    """Render the form holding ``settings``, validate it as Save does; True when valid."""
    mount(form, settings)
    return bool(form.page.evaluate("validateShown()"))


def unfold_all(form: FormPage) -> None:
    """Open every folded group as a person does: a click on its summary."""
    for summary in form.page.query_selector_all("form details:not([open]) > summary"):
        summary.click()
    assert form.page.query_selector("form details:not([open])") is None


def group_of(page: Page, selector: str) -> str:
    """The summary text of the group (``details``) holding the element ``selector``."""
    found = page.eval_on_selector(
        selector, "e => e.closest('details')?.querySelector('summary').textContent.trim() ?? ''"
    )
    return str(found)


def errors_shown(form: FormPage) -> str:
    return (
        form.page.inner_text(".panel-danger.errors") if form.page.query_selector(".errors") else ""
    )


def test_the_form_is_complete_labelled_and_clean(form: FormPage) -> None:
    assert show(form, FULL), errors_shown(form)
    assert errors_shown(form) == ""
    unfold_all(form)
    ARTIFACTS.mkdir(exist_ok=True)
    form.page.screenshot(path=ARTIFACTS / "settings-form-full.png", full_page=True)
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
    for field in FIELDS:  # one labelled input per smart-mapping field, named by its title
        labels = form.page.eval_on_selector_all(
            f"label[for^='root_smart_mapping_{field.name}']",
            "found => found.map(l => l.textContent)",
        )
        assert form_words.label(field).title in labels, field.name
    for control in controls:
        assert control["labels"] or BRANCH_PICKER.search(control["id"]), control
        assert not any(re.match(r"Option \d", option) for option in control["options"]), control
    text = form.page.inner_text("form")
    assert not re.search(r"Option \d", text)
    assert not re.search(r"-\d\b", " ".join(form.page.eval_on_selector_all("legend", LEGENDS)))
    assert form.complaints == []


def test_the_default_form_fits_its_height_budget_and_every_setting_unfolds(
    form: FormPage,
) -> None:
    mount(form, {})
    page = form.page
    assert page.evaluate("window.innerWidth") == WIDTH_PX
    height = page.evaluate("document.documentElement.scrollHeight")
    assert height <= HEIGHT_BUDGET_PX, f"the default form is {height} px tall"
    IMAGES.mkdir(exist_ok=True)
    page.screenshot(path=IMAGES / "settings-form.png", full_page=True)

    summaries = page.evaluate(SUMMARIES_JS)
    titles = [group.title for group in form_words.GROUPS] + ["Advanced"]
    assert [re.sub(r" \(\d+\)$", "", summary["text"]) for summary in summaries] == titles
    opened = {group.title for group in form_words.GROUPS if not group.folded}
    assert opened == {"Who the user is"}
    assert {s["text"].split(" (")[0] for s in summaries if s["open"]} == opened
    # A folded group is visibly one: its summary keeps the disclosure triangle (Bootstrap's
    # "display: block" would hide it), and says how many settings it holds.
    assert {summary["marker"] for summary in summaries} == {"list-item"}
    advanced = group_of(page, "#root_api_url")
    assert advanced.startswith("Advanced") and group_of(page, "#root_max_retries") == advanced

    unfold_all(form)
    for key in PROPERTIES:  # every setting has an input or an add button, shown and enabled
        found = page.query_selector_all(f"[id^='root_{key}']:is(input, select, textarea, button)")
        assert any(e.is_visible() and e.is_enabled() for e in found), key
    for field in FIELDS:
        assert page.is_editable(f"input#root_smart_mapping_{field.name}"), field.name
    page.fill("#root_access_token", "typed-token")
    page.fill("#root_pixel_id", "PIXEL1")
    page.fill("#root_smart_mapping_device_ip", "context.ip")
    page.fill("#root_batch_size", "200")
    page.click("button[type=submit]")
    page.wait_for_function("window.saved.length === 1")
    saved = page.evaluate("window.saved[0]")
    assert saved["smart_mapping"] == {"device_ip": "context.ip"} and saved["batch_size"] == 200
    assert form.complaints == []


def test_every_smart_mapping_field_shows_its_title_help_and_default_sources(
    form: FormPage,
) -> None:
    mount(form, {})
    unfold_all(form)
    page = form.page
    generic = MANIFEST["ui_schema"]["ui:definitions"]["#/$defs/source_expression"]
    for field in FIELDS:
        words = form_words.label(field)
        input_id = f"root_smart_mapping_{field.name}"
        title = page.inner_text(f"label[for='{input_id}']")
        assert title == words.title and not re.fullmatch(r"[a-z_]+", title), field.name
        help_text = page.inner_text(f"#{input_id}__help")
        assert help_text == form_words.help_line(field) and words.help in help_text
        # The default sources, from the record itself: in the help, the first as placeholder.
        assert all(path in help_text for path in field.source), (field.name, help_text)
        assert all(fallback.name in help_text for fallback in field.fallbacks), field.name
        placeholder = page.get_attribute(f"input#{input_id}", "placeholder")
        first = field.source[0] if field.source else generic["oneOf"][0]["ui:placeholder"]
        assert placeholder == first, field.name
        assert group_of(page, f"#{input_id}").startswith(_group_title(words.group)), field.name
    named = {
        "user_email": "Email",
        "user_phone": "Phone number",
        "click_id": "Click ID (ttclid)",
    }
    for name, title in named.items():
        assert page.inner_text(f"label[for='root_smart_mapping_{name}']") == title
    assert "Default: partners.tiktok.ttclid, then the ttclid cookie" in page.inner_text(
        "#root_smart_mapping_click_id__help"
    )
    assert form.complaints == []


def legend(page: Page, row: int) -> str:
    """The title of row ``row`` of event_mapping, without the mark of a required row."""
    return page.inner_text(f"#root_event_mapping_{row} > legend").rstrip("*")


def _group_title(key: str) -> str:
    (title,) = [group.title for group in form_words.GROUPS if group.key == key]
    return title


def test_tiktok_event_suggests_the_standard_names_and_takes_a_custom_one(form: FormPage) -> None:
    mount(form, {**MINIMAL, "event_mapping": [{"event": "refund", "tiktok_event": "Purchase"}]})
    page = form.page
    row = "#root_event_mapping_0_tiktok_event"
    suggestions = page.eval_on_selector(
        row, "input => [...input.list.options].map((option) => option.value)"
    )
    assert suggestions == sorted(STANDARD_EVENTS)
    assert {"CompletePayment", "AddToCart", "Purchase", "LaunchAPP"} <= set(suggestions)
    assert "standard events" in page.inner_text(f"{row}__help")
    assert legend(page, 0) == "refund → Purchase"
    page.fill(row, "RefundRequested")  # a custom name: not a suggestion, still taken
    assert legend(page, 0) == "refund → RefundRequested"
    page.click("#root_event_mapping__add")
    assert legend(page, 1).startswith("… → …")
    page.fill("#root_event_mapping_1_event", "trial_end")
    page.fill("#root_event_mapping_1_tiktok_event", "Subscribe")
    page.click("button[type=submit]")
    page.wait_for_function("window.saved.length === 1")
    assert page.evaluate("window.saved[0]")["event_mapping"] == [
        {"event": "refund", "tiktok_event": "RefundRequested"},
        {"event": "trial_end", "tiktok_event": "Subscribe"},
    ]
    assert "Event mapping-" not in page.inner_text("form")
    assert form.complaints == []


def test_every_field_record_has_words_and_one_group() -> None:
    groups = MANIFEST["ui_schema"]["smart_mapping"]["ui:options"]["groups"]
    grouped = [name for group in groups for name in group["fields"]]
    assert sorted(grouped) == sorted(field.name for field in FIELDS)  # each once
    missing = [field.name for field in FIELDS if field.name not in form_words.LABELS]
    assert missing == [], "give these fields a title, help and group in form.LABELS"
    assert set(form_words.LABELS) <= {field.name for field in FIELDS}, "LABELS names no field"
    assert {words.group for words in form_words.LABELS.values()} <= {
        group.key for group in form_words.GROUPS
    }
    titles = [words.title for words in form_words.LABELS.values()]
    assert len(set(titles)) == len(titles)


def test_a_field_without_words_gets_a_title_group_and_its_sources() -> None:
    field = Field("app_store_rank", ("context.app.rank",), ("app", "rank"))
    words = form_words.label(field)
    assert words == form_words.Label("App store rank", "", "app")
    assert form_words.help_line(field) == "Default: context.app.rank."
    unknown = Field("odd_thing", (), ("request", "odd"))
    assert form_words.label(unknown).group == form_words.FALLBACK_GROUP
    assert form_words.help_line(unknown) == "No default source: map it to use it."


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
    IMAGES.mkdir(exist_ok=True)
    form.page.screenshot(path=IMAGES / "settings-form-error.png", full_page=True)
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
    advanced = form.page.query_selector("form details:has(#root_batch_size)")
    assert advanced is not None and advanced.get_attribute("open") is not None
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
