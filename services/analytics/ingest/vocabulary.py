"""Which usage kind each standard's activity name means: xAPI verbs, Caliper actions, Canvas events.

Rules:
- A name is looked up as each standard spells it: an xAPI verb IRI, a Caliper `Type:Action`, a
  Canvas Live Events `event_name`. `kind()` answers one of `schemas.EventKind` or None.
- None means "not a usage signal we count": either unknown (the caller stores it as unrecognized
  and reports it) or known and deliberately not counted (`ignored()` tells the two apart). An
  unknown name is never turned into a `feature_used`.
- Logins are logins whatever the spelling. xAPI verb IRIs are normalised before lookup
  (`normalize`): scheme and host lower-cased, one trailing `/` dropped, and for the vocabulary hosts
  in `_SCHEME_BLIND_HOSTS` `http` and `https` are the same IRI. Nothing else is folded: a path's
  case, its wording (`logged-in` vs `loggedin`) and ActivityStreams' `/schema/1.0/start` vs
  `/start` stay distinct names, listed one by one where a real sender uses them.
- Caliper: `Type:Action` first; then the action alone, for the actions the spec gives one meaning
  whatever the type (`CALIPER_ACTIONS`, e.g. Canvas sends `Event:LoggedIn` as well as
  `SessionEvent:LoggedIn`). `Started`, `Submitted`, `Completed` mean an assignment only on
  `AssessmentEvent`/`AssignableEvent`, so they have no action-only entry.
- Per-integration overrides (name -> kind) win over the defaults; for Caliper an override of a bare
  action applies to every type that has no `Type:Action` override.
- `time_in_tool` is chosen only for verbs whose statements carry `result.duration` (cmi5 requires
  it on `terminated`); a caller that finds no duration cannot store `time_in_tool`.

How each verb was decided (see the tables): session verbs -> login/logout; an attempt begun ->
assignment_started; handed in -> assignment_submitted; finished, passed or failed ->
assignment_completed (Moodle's SCORM sends exactly one of completed/passed/failed); content opened
-> viewed; Caliper NavigatedTo -> navigated; communication and tool features a learner uses
(comment, reply, post, message, search, annotate, interact) -> feature_used, named after the object;
session end with a duration -> time_in_tool. Ignored: authoring and administration (create, edit,
delete, enrol, publish, grade), outcomes decided by someone else or by the system (scored,
achieved, mastered), item-level steps inside an attempt that is already counted (answered,
AssessmentItemEvent), player controls (paused, seeked) and bookkeeping that pairs with a counted
verb (cmi5 `initialized` after `launched`, Caliper `Returned` after `Launched`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, get_args
from urllib.parse import urlsplit

from services.analytics.ingest.schemas import EventKind

STANDARDS = ("xapi", "caliper", "canvas")
KINDS: tuple[str, ...] = get_args(EventKind)
"""The kinds a name may map to: `schemas.EventKind`, the one definition."""
MAX_NAME = 300

_ADL = "http://adlnet.gov/expapi/verbs/"
_W3ADL = "https://w3id.org/xapi/adl/verbs/"
_AS = "http://activitystrea.ms/schema/1.0/"
_AS_SHORT = "http://activitystrea.ms/"  # Moodle logstore_xapi also emits these (lesson_started...)
_TINCAN = "http://id.tincanapi.com/verb/"
_BRINDLEWAYE = "https://brindlewaye.com/xAPITerms/verbs/"
_EDLM = "https://xapi.edlm/profiles/edlm-lms/concepts/verbs/"
_TLA = "https://w3id.org/xapi/tla/verbs/"
_DODISD = "https://w3id.org/xapi/dod-isd/verbs/"
_ACROSSX = "https://w3id.org/xapi/acrossx/verbs/"
_VIDEO = "https://w3id.org/xapi/video/verbs/"

_SCHEME_BLIND_HOSTS = frozenset(
    {"adlnet.gov", "w3id.org", "activitystrea.ms", "id.tincanapi.com", "brindlewaye.com", "xapi.edlm"}
)
"""Vocabulary hosts none of which publishes two verbs differing only by http/https; senders mix
the schemes (Moodle: `https://brindlewaye.com/...`, ADL: `http://adlnet.gov/...`)."""

# Sources. ADL: github.com/adlnet/xAPIWrapper src/verbs.js (the ADL verb list, incl. the
# w3id.org/xapi/adl forms); cmi5: AICC/CMI-5_Spec_Current (launched, initialized, terminated with
# result.duration, passed/failed, abandoned, waived, satisfied); xAPI Video profile
# (w3id.org/xapi/video). Moodle: github.com/xAPI-vle/moodle-logstore_xapi@16663652
# src/transformer/utils/get_verb.php (login/logout: edlm, or Brindlewaye when send_jisc_data; v4.7.0
# sent `.../loggedin/` with the slash), src/transformer/events/** (every other IRI below marked M).
XAPI: dict[str, str] = {
    # sessions
    _ADL + "logged-in": "login",
    _W3ADL + "logged-in": "login",
    _BRINDLEWAYE + "loggedin": "login",  # M (v4.7.0 and jisc)
    _EDLM + "login": "login",  # M core/user_loggedin
    _ADL + "logged-out": "logout",
    _W3ADL + "logged-out": "logout",
    _BRINDLEWAYE + "loggedout": "logout",  # M
    _EDLM + "logout": "logout",  # M core/user_loggedout
    # assignment lifecycle
    _ADL + "attempted": "assignment_started",
    _AS + "start": "assignment_started",  # M mod_quiz/attempt_started
    _AS_SHORT + "start": "assignment_started",  # M mod_lesson/lesson_started
    _EDLM + "restarted": "assignment_started",  # M mod_lesson/lesson_restarted
    _ADL + "submitted": "assignment_submitted",
    _AS + "submit": "assignment_submitted",  # M mod_assign/assignment_submitted, mod_feedback
    _AS_SHORT + "submit": "assignment_submitted",  # M mod_questionnaire, mod_survey
    _DODISD + "submitted": "assignment_submitted",
    _ADL + "completed": "assignment_completed",  # M quiz attempt_submitted, lesson_ended, SCORM
    _AS + "complete": "assignment_completed",
    _ADL + "passed": "assignment_completed",  # M SCORM status (one of completed/passed/failed)
    _ADL + "failed": "assignment_completed",  # M
    # content opened
    _TINCAN + "viewed": "viewed",  # M course_viewed, course_module_viewed, ...
    _ADL + "experienced": "viewed",
    _ADL + "launched": "viewed",  # M mod_scorm/sco_launched; cmi5 launch
    _AS + "access": "viewed",
    _AS + "read": "viewed",
    _AS + "watch": "viewed",
    # session time (result.duration)
    _ADL + "terminated": "time_in_tool",
    _ADL + "exited": "time_in_tool",
    # features a learner uses
    _ADL + "commented": "feature_used",  # M glossary/wiki comment_created
    _ADL + "asked": "feature_used",
    _ADL + "shared": "feature_used",
    _ADL + "interacted": "feature_used",
    _TINCAN + "replied": "feature_used",  # M mod_forum/post_created
    _AS_SHORT + "send": "feature_used",  # M core/message_sent
    _AS + "send": "feature_used",
    _AS + "post": "feature_used",
    _AS + "join": "feature_used",  # M bigbluebuttonbn/meeting_joined
    _ACROSSX + "searched": "feature_used",  # M core/search_results_viewed
}

XAPI_IGNORED = frozenset(
    {
        _ADL + "voided",  # voids another statement: never usage
        _ADL + "initialized",  # cmi5: follows `launched`, which is counted
        _ADL + "answered",  # M item-level, inside a counted attempt
        _ADL + "responded",
        _ADL + "progressed",
        _ADL + "resumed",
        _ADL + "suspended",
        _ADL + "scored",
        _ADL + "mastered",
        _ADL + "preferred",
        _ADL + "registered",  # M user_created, facetoface signup
        _ADL + "imported",  # M
        _ADL + "attended",  # M facetoface attendance, taken by the teacher
        _W3ADL + "abandoned",
        _W3ADL + "satisfied",
        _W3ADL + "waived",
        _AS + "create",  # M
        _AS + "receive",  # M quiz attempt_reviewed
        _AS + "assign",  # M totara program_assigned
        _AS + "retract",  # M
        _AS + "leave",  # M
        _AS_SHORT + "create",  # M course/group/calendar/note/... created
        _AS_SHORT + "update",  # M
        _AS_SHORT + "delete",  # M
        _AS_SHORT + "join",  # M core/group_member_added (an enrolment)
        _AS_SHORT + "leave",  # M
        _TINCAN + "unregistered",  # M
        _TINCAN + "adjourned",  # M
        _TINCAN + "live",  # M
        _TINCAN + "secured",  # M
        _TINCAN + "unsecured",  # M
        _EDLM + "enrolled",  # M
        _EDLM + "exceeded",  # M quiz attempt_becameoverdue
        _EDLM + "locked",  # M
        _EDLM + "unlocked",  # M
        _EDLM + "uncompleted",  # M
        _EDLM + "toured",  # M
        _EDLM + "subscribed",  # M
        _EDLM + "unsubscribed",  # M
        _TLA + "achieved",  # M badges, certificates
        _TLA + "forfeited",  # M
        _TLA + "verified",  # M
        _TLA + "scored",  # M grading
        _TLA + "suspended",  # M enrolment suspended, questionnaire saved
        _TLA + "resumed",  # M
        _DODISD + "assessed",  # M
        _DODISD + "edited",  # M
        _DODISD + "deleted",  # M
        _DODISD + "published",  # M
        _ACROSSX + "edited",  # M
        _VIDEO + "played",
        _VIDEO + "paused",
        _VIDEO + "seeked",
    }
)

# Sources: IMS Caliper 1.1, Appendix B, each event's "Supported Actions"
# (github.com/IMSGlobal/caliper-spec@1849e118 caliper-spec.md); Caliper 1.2 event types from the
# spec's fixtures (github.com/wn-doolittle/caliper-spec fixtures/v1p2: ToolLaunch, Feedback,
# Questionnaire, ResourceManagement, Search, Survey); Canvas: instructure/canvas-lms
# doc/api/caliper_live_events.md (Event:LoggedIn, MessageEvent:Created, Event:Created/Modified...).
CALIPER: dict[str, str] = {
    "SessionEvent:LoggedIn": "login",
    "SessionEvent:LoggedOut": "logout",
    "SessionEvent:TimedOut": "logout",
    "AssessmentEvent:Started": "assignment_started",
    "AssessmentEvent:Restarted": "assignment_started",
    "AssessmentEvent:Submitted": "assignment_submitted",  # Canvas quiz_submitted
    "AssignableEvent:Started": "assignment_started",
    "AssignableEvent:Submitted": "assignment_submitted",  # Canvas submission_created
    "AssignableEvent:Completed": "assignment_completed",
    "AssignableEvent:Reviewed": "viewed",
    "NavigationEvent:NavigatedTo": "navigated",  # Canvas asset_accessed
    "ViewEvent:Viewed": "viewed",
    "ReadingEvent:NavigatedTo": "navigated",
    "ReadingEvent:Viewed": "viewed",
    "ReadingEvent:Searched": "feature_used",
    "MediaEvent:Started": "viewed",
    "ToolLaunchEvent:Launched": "viewed",
    "ToolUseEvent:Used": "feature_used",
    "SearchEvent:Searched": "feature_used",
    "MessageEvent:Posted": "feature_used",
    "MessageEvent:Created": "feature_used",  # Canvas discussion_entry_created
    "FeedbackEvent:Commented": "feature_used",
    "FeedbackEvent:Ranked": "feature_used",
    "QuestionnaireEvent:Submitted": "feature_used",
    "AnnotationEvent:Bookmarked": "feature_used",
    "AnnotationEvent:Highlighted": "feature_used",
    "AnnotationEvent:Shared": "feature_used",
    "AnnotationEvent:Tagged": "feature_used",
}

CALIPER_ACTIONS: dict[str, str] = {
    "LoggedIn": "login",
    "LoggedOut": "logout",
    "TimedOut": "logout",
    "NavigatedTo": "navigated",
    "Viewed": "viewed",
    "Used": "feature_used",
    "Searched": "feature_used",
    "Launched": "viewed",
}
"""Action-only fallbacks: actions with one meaning in every event type the spec allows them on."""

_MEDIA_CONTROLS = (
    "Ended Paused Resumed Restarted ForwardedTo JumpedTo ChangedResolution ChangedSize ChangedSpeed"
    " ChangedVolume EnabledClosedCaptioning DisabledClosedCaptioning EnteredFullScreen"
    " ExitedFullScreen Muted Unmuted OpenedPopout ClosedPopout"
)
_RESOURCE_MANAGEMENT = (
    "Archived Copied Created Deleted Described Downloaded Modified Printed Published Restored"
    " Retrieved Saved Unpublished Uploaded"
)
CALIPER_IGNORED = frozenset(
    [f"MediaEvent:{a}" for a in _MEDIA_CONTROLS.split()]
    + [f"ResourceManagementEvent:{a}" for a in _RESOURCE_MANAGEMENT.split()]
    + [f"Event:{a}" for a in ("Created", "Modified", "Deleted")]  # Canvas authoring/admin events
    + [
        "AssessmentEvent:Paused",
        "AssessmentEvent:Resumed",
        "AssessmentEvent:Reset",
        "AssessmentItemEvent:Started",
        "AssessmentItemEvent:Skipped",
        "AssessmentItemEvent:Completed",
        "AssignableEvent:Activated",
        "AssignableEvent:Deactivated",
        "ForumEvent:Subscribed",
        "ForumEvent:Unsubscribed",
        "GradeEvent:Graded",
        "OutcomeEvent:Graded",
        "MessageEvent:MarkedAsRead",
        "MessageEvent:MarkedAsUnRead",
        "ThreadEvent:MarkedAsRead",
        "ThreadEvent:MarkedAsUnRead",
        "QuestionnaireEvent:Started",
        "QuestionnaireItemEvent:Started",
        "QuestionnaireItemEvent:Skipped",
        "QuestionnaireItemEvent:Completed",
        "SurveyEvent:OptedIn",
        "SurveyEvent:OptedOut",
        "SurveyInvitationEvent:Accepted",
        "SurveyInvitationEvent:Declined",
        "SurveyInvitationEvent:Sent",
        "ToolLaunchEvent:Returned",
    ]
)

# Source: instructure/canvas-lms doc/api/data_services/json/canvas/event-types/*.json (the Live
# Events catalogue, one file per event_name).
CANVAS: dict[str, str] = {
    "logged_in": "login",
    "logged_out": "logout",
    "asset_accessed": "viewed",
    "submission_created": "assignment_submitted",  # assignments and New Quizzes, re-submits too
    "quiz_submitted": "assignment_submitted",  # classic quizzes
    "discussion_entry_created": "feature_used",
    "discussion_topic_created": "feature_used",
    "conversation_created": "feature_used",
    "conversation_message_created": "feature_used",
    "submission_comment_created": "feature_used",
}

_CANVAS_NOT_COUNTED = """account_created account_notification_created account_updated assignment_created
    assignment_group_created assignment_group_updated assignment_override_created
    assignment_override_updated assignment_updated attachment_created attachment_deleted
    attachment_updated content_migration_completed content_migration_started conversation_forwarded
    course_completed course_created course_grade_change course_progress course_section_created
    course_section_updated course_updated discussion_entry_submitted discussion_topic_updated
    enrollment_created enrollment_state_created enrollment_state_updated enrollment_updated
    final_grade_custom_status grade_change grade_override group_category_created
    group_category_updated group_created group_membership_created group_membership_updated
    group_updated learning_outcome_created learning_outcome_group_created
    learning_outcome_group_updated learning_outcome_link_created learning_outcome_link_updated
    learning_outcome_result_created learning_outcome_result_updated learning_outcome_updated
    lti_resource_link_created lti_resource_link_updated master_migration_started module_created
    module_item_created module_item_updated module_updated outcome_calculation_method_created
    outcome_calculation_method_updated outcome_proficiency_created outcome_proficiency_updated
    outcomes_retry_outcome_alignment_clone plagiarism_resubmit quiz_created quiz_updated
    rubric_assessed sis_batch_created sis_batch_updated submission_custom_grade_status
    submission_updated syllabus_updated user_account_association_created user_created user_updated
    wiki_page_created wiki_page_deleted wiki_page_updated"""
CANVAS_IGNORED = frozenset(_CANVAS_NOT_COUNTED.split())
"""discussion_entry_submitted comes with a submission_created; submission_updated is grading."""


def normalize(standard: str, name: str) -> str:
    """The lookup key for `name` in `standard` (xAPI IRIs normalised, others stripped)."""
    if standard not in STANDARDS:
        raise ValueError(f"unknown standard {standard!r}; one of {', '.join(STANDARDS)}")
    name = name.strip()
    if standard != "xapi":
        return name
    try:
        parts = urlsplit(name)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: not an IRI we know
        return name
    if not parts.scheme or not parts.netloc:
        return name
    host = parts.netloc.lower()
    scheme = "" if host in _SCHEME_BLIND_HOSTS else parts.scheme.lower() + ":"
    path = parts.path[:-1] if parts.path.endswith("/") else parts.path
    query = "?" + parts.query if parts.query else ""
    fragment = "#" + parts.fragment if parts.fragment else ""
    return f"{scheme}//{host}{path}{query}{fragment}"


def _keyed(standard: str, table: Mapping[str, str]) -> dict[str, str]:
    return {normalize(standard, name): kind for name, kind in table.items()}


DEFAULTS: dict[str, dict[str, str]] = {
    "xapi": _keyed("xapi", XAPI),
    "caliper": dict(CALIPER),
    "canvas": dict(CANVAS),
}
"""The default tables by standard, keyed as `normalize` spells names."""
IGNORED: dict[str, frozenset[str]] = {
    "xapi": frozenset(normalize("xapi", n) for n in XAPI_IGNORED),
    "caliper": CALIPER_IGNORED,
    "canvas": CANVAS_IGNORED,
}
"""Names known to carry no usage signal, by standard (same keys as `DEFAULTS`)."""


def validate_overrides(overrides: Any) -> dict[str, str]:
    """Per-integration overrides checked: names non-empty (<= 300 chars), kinds from EventKind."""
    if not isinstance(overrides, Mapping):
        raise ValueError("vocabulary overrides must be an object of name -> kind")
    checked: dict[str, str] = {}
    for name, kind in overrides.items():
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"override {name!r}: the name must be a non-empty string")
        if len(name) > MAX_NAME:
            raise ValueError(f"override {name[:40]!r}...: the name is longer than {MAX_NAME} characters")
        if kind not in KINDS:
            raise ValueError(f"override {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
        checked[name.strip()] = kind
    return checked


class Vocabulary:
    """The default tables plus one integration's overrides (name -> kind, names as looked up)."""

    def __init__(self, overrides: Mapping[str, str] | None = None) -> None:
        checked = validate_overrides(overrides or {})
        self._overrides = {s: {normalize(s, n): k for n, k in checked.items()} for s in STANDARDS}

    def kind(self, standard: str, name: str) -> str | None:
        """The kind `name` counts as in `standard`, or None (unknown, or known and not counted)."""
        key = normalize(standard, name)
        overrides = self._overrides[standard]
        action = key.rpartition(":")[2] if standard == "caliper" else key
        found = overrides.get(key) or overrides.get(action) or DEFAULTS[standard].get(key)
        if found or standard != "caliper" or key in IGNORED[standard]:
            return found
        return CALIPER_ACTIONS.get(action)

    def ignored(self, standard: str, name: str) -> bool:
        """Whether `name` is known to carry no usage signal (so not reported as unrecognized)."""
        return self.kind(standard, name) is None and normalize(standard, name) in IGNORED[standard]


DEFAULT = Vocabulary()
"""The vocabulary of an integration without overrides."""
