"""The default vocabulary: real senders' names map to the kinds we count; unknown ones to None.

Table decisions are checked against the sample payloads in tests/fixtures/lms (Moodle
logstore_xapi, xAPI spec, Caliper 1.2 spec, Canvas Live Events and Canvas Caliper), overrides
against the defaults, and two properties with hypothesis: a name in no table never gets a kind
(in particular never `feature_used`), and every table entry is a valid EventKind.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError, field_validator

from services.analytics.ingest.schemas import EventKind
from services.analytics.ingest.vocabulary import (
    CALIPER_ACTIONS,
    DEFAULT,
    DEFAULTS,
    IGNORED,
    STANDARDS,
    Vocabulary,
    normalize,
    validate_overrides,
)

LMS = Path(__file__).resolve().parents[1] / "fixtures" / "lms"
LOGGEDIN = "https://brindlewaye.com/xAPITerms/verbs/loggedin"


def _load(path: str) -> Any:
    return json.loads((LMS / path).read_text())


@pytest.mark.parametrize(
    ("verb", "kind"),
    [
        (LOGGEDIN, "login"),
        (LOGGEDIN + "/", "login"),
        ("http://brindlewaye.com/xAPITerms/verbs/loggedin/", "login"),
        ("https://brindlewaye.com/xAPITerms/verbs/loggedout/", "logout"),
        ("https://w3id.org/xapi/adl/verbs/logged-in", "login"),
        ("https://adlnet.gov/expapi/verbs/logged-in/", "login"),
        ("http://activitystrea.ms/start", "assignment_started"),
        ("http://adlnet.gov/expapi/verbs/terminated", "time_in_tool"),
        ("http://id.tincanapi.com/verb/replied", "feature_used"),
    ],
)
def test_xapi_spellings(verb: str, kind: str) -> None:
    assert DEFAULT.kind("xapi", verb) == kind


@pytest.mark.parametrize(
    ("fixture", "kind"),
    [
        ("moodle/user_loggedin_v4_7.json", "login"),
        ("moodle/user_loggedin.json", "login"),
        ("moodle/user_loggedout.json", "logout"),
        ("moodle/course_viewed.json", "viewed"),
        ("moodle/course_module_viewed.json", "viewed"),
        ("moodle/assignment_submitted.json", "assignment_submitted"),
        ("moodle/quiz_attempt_started.json", "assignment_started"),
        ("xapi/attempted_mbox.json", "assignment_started"),
    ],
)
def test_xapi_fixtures(fixture: str, kind: str) -> None:
    doc = _load(fixture)
    verb = str(doc[0]["verb"]["id"]) if isinstance(doc, list) else str(doc["verb"]["id"])
    assert DEFAULT.kind("xapi", verb) == kind


def test_caliper_fixtures() -> None:
    envelope = _load("caliper/v1p2_envelope.json")
    kinds = [DEFAULT.kind("caliper", f"{e['type']}:{e['action']}") for e in envelope["data"]]
    assert kinds == ["login", "navigated", None, "assignment_submitted"]
    assert DEFAULT.ignored("caliper", "AssignableEvent:Activated")  # an instructor's, not usage
    for fixture, kind in [
        ("canvas/caliper_logged_in.json", "login"),
        ("canvas/caliper_asset_accessed.json", "navigated"),
        ("canvas/caliper_submission_created.json", "assignment_submitted"),
    ]:
        event = _load(fixture)["data"][0]
        assert DEFAULT.kind("caliper", f"{event['type']}:{event['action']}") == kind


def test_caliper_action_fallbacks() -> None:
    assert DEFAULT.kind("caliper", "SessionEvent:LoggedIn") == "login"
    assert DEFAULT.kind("caliper", "Event:LoggedIn") == "login"  # Canvas's mapping table
    assert DEFAULT.kind("caliper", "LoggedIn") == "login"
    assert DEFAULT.kind("caliper", "AssessmentItemEvent:Started") is None  # no `Started` fallback
    assert DEFAULT.kind("caliper", "SomeEvent:Started") is None
    assert not DEFAULT.ignored("caliper", "SomeEvent:Started")  # unknown: to be reported


def test_canvas_live_events() -> None:
    for fixture, kind in [
        ("canvas/live_logged_in.json", "login"),
        ("canvas/live_asset_accessed.json", "viewed"),
        ("canvas/live_submission_created.json", "assignment_submitted"),
    ]:
        assert DEFAULT.kind("canvas", _load(fixture)["metadata"]["event_name"]) == kind
    assert DEFAULT.kind("canvas", "grade_change") is None
    assert DEFAULT.ignored("canvas", "grade_change")


def test_unknown_is_not_ignored_and_never_a_feature() -> None:
    assert DEFAULT.kind("xapi", "https://example.com/verbs/frobnicated") is None
    assert not DEFAULT.ignored("xapi", "https://example.com/verbs/frobnicated")
    assert DEFAULT.kind("xapi", "http://adlnet.gov/expapi/verbs/answered") is None
    assert DEFAULT.ignored("xapi", "http://adlnet.gov/expapi/verbs/answered")


def test_normalize_folds_only_what_is_the_same_verb() -> None:
    assert normalize("xapi", " HTTPS://Brindlewaye.com/xAPITerms/verbs/loggedin/ ") == normalize(
        "xapi", LOGGEDIN
    )
    assert normalize("xapi", "http://example.com/v") != normalize("xapi", "https://example.com/v")
    assert normalize("xapi", LOGGEDIN.upper()) != normalize("xapi", LOGGEDIN)  # path case kept
    assert normalize("xapi", "http://activitystrea.ms/start") != normalize(
        "xapi", "http://activitystrea.ms/schema/1.0/start"
    )
    with pytest.raises(ValueError, match="unknown standard"):
        normalize("scorm", "x")


def test_overrides_win_over_defaults() -> None:
    vocab = Vocabulary(
        {
            LOGGEDIN + "/": "viewed",
            "NavigationEvent:NavigatedTo": "viewed",
            "Started": "assignment_started",
            "grade_change": "feature_used",
            "https://example.com/verbs/frobnicated": "feature_used",
        }
    )
    assert vocab.kind("xapi", LOGGEDIN) == "viewed"  # spelled with a slash, applies without
    assert vocab.kind("caliper", "NavigationEvent:NavigatedTo") == "viewed"
    assert vocab.kind("caliper", "MediaEvent:Started") == "assignment_started"  # bare action override
    assert vocab.kind("canvas", "grade_change") == "feature_used"
    assert not vocab.ignored("canvas", "grade_change")
    assert vocab.kind("xapi", "https://example.com/verbs/frobnicated") == "feature_used"
    assert DEFAULT.kind("xapi", LOGGEDIN) == "login"  # defaults untouched


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"SessionEvent:LoggedIn": "signin"}, "SessionEvent:LoggedIn"),
        ({"": "login"}, "''"),
        ({"   ": "login"}, "'   '"),
        ({"x" * 301: "login"}, "xxxx"),
        ({"logged_in": None}, "logged_in"),
        ({"ok": "login", "bad": "FEATURE_USED"}, "bad"),
    ],
)
def test_invalid_overrides_are_refused_naming_the_entry(overrides: dict[Any, Any], named: str) -> None:
    with pytest.raises(ValueError, match="override") as refused:
        validate_overrides(overrides)
    assert named in str(refused.value)


def test_overrides_validate_in_a_pydantic_model() -> None:
    class IntegrationVocabulary(BaseModel):
        overrides: dict[str, str]

        @field_validator("overrides")
        @classmethod
        def _known_kinds(cls, value: dict[str, str]) -> dict[str, str]:
            return validate_overrides(value)

    assert IntegrationVocabulary(overrides={" logged_in ": "login"}).overrides == {"logged_in": "login"}
    with pytest.raises(ValidationError, match="'bad'"):
        IntegrationVocabulary(overrides={"bad": "nope"})
    with pytest.raises(ValueError, match="object"):
        validate_overrides(["logged_in"])


def _in_tables(standard: str, name: str) -> bool:
    key = normalize(standard, name)
    action = key.rpartition(":")[2]
    return key in DEFAULTS[standard] or (standard == "caliper" and action in CALIPER_ACTIONS)


@given(standard=st.sampled_from(STANDARDS), name=st.text(max_size=80))
def test_a_name_in_no_table_has_no_kind(standard: str, name: str) -> None:
    kind = DEFAULT.kind(standard, name)
    if not _in_tables(standard, name):
        assert kind is None
    else:
        assert kind in get_args(EventKind) or normalize(standard, name) in IGNORED[standard]


@given(name=st.sampled_from(sorted(DEFAULTS["xapi"])), slash=st.booleans(), https=st.booleans())
def test_xapi_entries_survive_spelling_variants(name: str, slash: bool, https: bool) -> None:
    iri = ("https:" if https else "http:") + name + ("/" if slash else "")
    assert DEFAULT.kind("xapi", iri) == DEFAULTS["xapi"][name]


def test_every_table_entry_is_a_valid_kind_and_tables_do_not_overlap() -> None:
    kinds = set(get_args(EventKind))
    for standard in STANDARDS:
        assert set(DEFAULTS[standard].values()) <= kinds
        assert not set(DEFAULTS[standard]) & IGNORED[standard]
        for name, kind in DEFAULTS[standard].items():
            assert DEFAULT.kind(standard, name) == kind
        for name in IGNORED[standard]:
            assert DEFAULT.ignored(standard, name)
    assert set(CALIPER_ACTIONS.values()) <= kinds
