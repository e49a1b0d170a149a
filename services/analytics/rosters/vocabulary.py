"""OneRoster CSV vocabularies, each defined once, per version of the specification.

Sources (the tables of the CSV bindings):
- OneRoster 1.1 CSV Tables, https://www.imsglobal.org/oneroster-v11-final-csv-tables
  (users.csv `role`: administrator | aide | guardian | parent | proctor | relative | student |
  teacher; enrollments.csv `role`: administrator | proctor | student | teacher).
- OneRoster 1.2 CSV Binding, https://www.imsglobal.org/spec/oneroster/v1p2/bind/csv (a copy:
  https://imsjapan.github.io/or12.html): roles.csv `role` (aide | counselor |
  districtAdministrator | guardian | parent | principal | proctor | relative | siteAdministrator |
  student | systemAdministrator | teacher), `roleType` (primary | secondary), enrollments.csv
  `role` (administrator | proctor | student | teacher), academicSessions.csv `type`
  (gradingPeriod | semester | schoolYear | term), orgs.csv `type`. Its section 4.1.2 lets the
  `role`, `type` (academicSessions, orgs) and `classType` vocabularies be extended with terms
  starting `ext:`; 1.1 has no such rule.
"""

from __future__ import annotations

V1_1, V1_2 = "1.1", "1.2"
VERSIONS = (V1_1, V1_2)

ORG_TYPES = frozenset({"department", "school", "district", "local", "state", "national"})
USER_ROLES = {
    V1_1: frozenset(
        {"administrator", "aide", "guardian", "parent", "proctor", "relative", "student", "teacher"}
    ),
    V1_2: frozenset(
        {
            "aide",
            "counselor",
            "districtAdministrator",
            "guardian",
            "parent",
            "principal",
            "proctor",
            "relative",
            "siteAdministrator",
            "student",
            "systemAdministrator",
            "teacher",
        }
    ),
}
"""users.csv `role` (1.1) and roles.csv `role` (1.2)."""
ENROLLMENT_ROLES = frozenset({"administrator", "proctor", "student", "teacher"})
"""enrollments.csv `role`: the same list in 1.1 and 1.2."""
ROLE_TYPES = frozenset({"primary", "secondary"})
SESSION_TYPES = frozenset({"gradingPeriod", "semester", "schoolYear", "term"})
TERM_TYPES = ("term", "semester")
"""Academic session types that make a district's terms, in order of preference."""
GRADES = frozenset({"IT", "PR", "PK", "TK", "KG", "PS", "UG", "Other", *(f"{n:02d}" for n in range(1, 14))})
"""CEDS grade levels, as both versions recommend for `grades`."""
EXTENSION_PREFIX = "ext:"


def allowed(value: str, vocabulary: frozenset[str], *, version: str, extensible: bool = True) -> bool:
    """Whether a value belongs to a vocabulary (in 1.2 an extensible one also admits `ext:` terms)."""
    return value in vocabulary or (
        extensible
        and version == V1_2
        and value.startswith(EXTENSION_PREFIX)
        and len(value) > len(EXTENSION_PREFIX)
    )


def listing(vocabulary: frozenset[str]) -> str:
    """The vocabulary as a sorted, comma-separated list for error messages."""
    return ", ".join(sorted(vocabulary))
