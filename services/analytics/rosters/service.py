"""OneRoster 1.1 / 1.2 CSV import: orgs, academic sessions, classes, users (and 1.2 roles), enrollments.

Rules:
- `manifest.csv` gives the version and each file's mode (`rosters/manifest.py`); without one every
  supplied file is a delta, as before manifests were read.
- Good rows are upserted by sourcedId (a re-import updates, never duplicates). `tobedeleted` rows are
  removed in any mode: "in cases of conflict the values in the data CSV files must take precedence"
  over the manifest (OneRoster 1.2 CSV Binding 3.1).
- A bulk file is the complete set for the district: stored records it no longer lists are removed
  ("if records that were previously imported do not appear in this bulk csv file, then the importing
  system should internally mark those records as 'tobedeleted'", CSV Binding 3.0). A row the file
  lists counts as listed even when it is rejected: its stored record stays as it was. A bulk file
  with no accepted row (empty, unreadable, every row rejected) removes nothing and says so.
- Removing a user or a class removes its enrollments; a removed class loses its term links.
- A bad row is reported with its file, line and field and skipped; the rest of the file is kept.
- Role vocabularies follow the version (`rosters/vocabulary.py`); users keep their `identifier`,
  `username` and `userIds`. Afterwards each user's grade levels, subjects (from their classes) and
  schools are derived for grouping.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.counting.service import request_regroup, user_groups
from services.analytics.identity import service as identity
from services.analytics.models import (
    RosterAcademicSession,
    RosterClass,
    RosterEnrollment,
    RosterOrg,
    RosterUser,
)
from services.analytics.rosters.manifest import DATA_FILES, MANIFEST, Manifest, read_manifest
from services.analytics.rosters.repository import RosterModel, RosterRepository
from services.analytics.rosters.schemas import RosterImportRead, RowError
from services.analytics.rosters.vocabulary import (
    ENROLLMENT_ROLES,
    GRADES,
    ORG_TYPES,
    ROLE_TYPES,
    SESSION_TYPES,
    USER_ROLES,
    allowed,
    listing,
)
from shared.errors import Unprocessable

FILES = (MANIFEST, *DATA_FILES)
_CANONICAL = {name.lower(): name for name in FILES}
_MAX_FILE = 200 * 1024 * 1024
_USER_ID = re.compile(r"\{([^{}:]+):([^{}]+)\}")


class RowRejected(ValueError):
    """A row that cannot be imported, naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def collect_files(parts: list[tuple[str, bytes]]) -> dict[str, bytes]:
    """The OneRoster files of an upload (plain CSV parts and/or the CSVs inside zip parts), by name.

    Names are matched without case and returned as the specification spells them
    (`academicsessions.csv` -> `academicSessions.csv`); a file sent twice is refused.
    """
    found: dict[str, bytes] = {}

    def add(name: str, data: bytes) -> None:
        if name in found:
            raise Unprocessable(f"the upload has more than one {name}", field="file")
        found[name] = data

    for filename, data in parts:
        base = filename.rsplit("/", 1)[-1].lower()
        if base.endswith(".zip"):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    for info in archive.infolist():
                        inner = _CANONICAL.get(info.filename.rsplit("/", 1)[-1].lower())
                        if inner is not None and not info.is_dir():
                            if info.file_size > _MAX_FILE:
                                raise Unprocessable(f"{inner} in the zip is too large", field="file")
                            add(inner, archive.read(info))
            except zipfile.BadZipFile as exc:
                raise Unprocessable(f"{filename} is not a valid zip archive", field="file") from exc
        elif base in _CANONICAL:
            add(_CANONICAL[base], data)
    if not found.keys() - {MANIFEST}:
        raise Unprocessable(
            "no OneRoster file found; send orgs.csv, classes.csv, users.csv, enrollments.csv "
            "(with manifest.csv, academicSessions.csv, roles.csv; or a zip of them)",
            field="file",
        )
    return found


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _required(row: dict[str, str], name: str) -> str:
    value = (row.get(name) or "").strip()
    if not value:
        raise RowRejected(name, f"{name} is required")
    return value


def _date(row: dict[str, str], name: str) -> dt.date:
    value = _required(row, name)
    try:
        return dt.date.fromisoformat(value) if len(value) == 10 else dt.datetime.fromisoformat(value).date()
    except ValueError:
        raise RowRejected(name, f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def user_ids(value: str | None) -> list[str]:
    """OneRoster `userIds` (`{LDAP:id},{LTI:id}`) as `Type:value` strings; empty for none."""
    text = (value or "").strip()
    found = [(m.group(1).strip(), m.group(2).strip()) for m in _USER_ID.finditer(text)]
    if _USER_ID.sub("", text).replace(",", "").strip() or any(not t or not v for t, v in found):
        raise RowRejected("userIds", "userIds must look like {LDAP:12345},{LTI:abc} (a type and an id)")
    return [f"{t}:{v}" for t, v in found]


@dataclass
class Parsed:
    """One file's rows: accepted (by sourcedId), marked `tobedeleted`, and every sourcedId listed."""

    kept: dict[str, dict[str, Any]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    listed: set[str] = field(default_factory=set)
    accepted: int = 0
    readable: bool = False


class _Importer:
    def __init__(self, district_id: str, files: dict[str, bytes], manifest: Manifest) -> None:
        self.district_id = district_id
        self.files = files
        self.manifest = manifest
        self.errors: list[RowError] = []

    def rows(self, name: str, convert: Callable[[dict[str, str]], dict[str, Any] | None]) -> Parsed:
        """Convert a file's rows, reporting the bad ones."""
        parsed = Parsed()
        data = self.files.get(name)
        if data is None:
            return parsed
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.errors.append(RowError(file=name, line=1, field="file", message="the file is not UTF-8"))
            return parsed
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "sourcedId" not in reader.fieldnames:
            self.errors.append(
                RowError(file=name, line=1, field="sourcedId", message="the header has no sourcedId")
            )
            return parsed
        parsed.readable = True
        for row in reader:
            line = reader.line_num
            try:
                sourced_id = _required(row, "sourcedId")
                parsed.listed.add(sourced_id)
                if (row.get("status") or "").strip().lower() == "tobedeleted":
                    parsed.deleted.add(sourced_id)
                    continue
                converted = convert(row)
            except RowRejected as exc:
                self.errors.append(RowError(file=name, line=line, field=exc.field, message=str(exc)))
                continue
            parsed.accepted += 1
            if converted is not None:
                parsed.kept[sourced_id] = {
                    "district_id": self.district_id,
                    "sourced_id": sourced_id,
                    **converted,
                }
        return parsed

    def removed(self, name: str, parsed: Parsed, existing: set[str]) -> set[str]:
        """Stored sourcedIds the file removes: `tobedeleted` ones, and in bulk those it no longer lists."""
        removed = parsed.deleted & existing
        unlisted = existing - parsed.listed
        if self.manifest.mode(name) == "bulk" and unlisted:
            if parsed.readable and parsed.accepted:
                removed |= unlisted
            else:
                self.errors.append(
                    RowError(
                        file=name,
                        line=1,
                        field="file",
                        message=f"a bulk file with no accepted row removes nothing: "
                        f"{len(unlisted)} stored record(s) it does not list were kept",
                    )
                )
        return removed - set(parsed.kept)


@dataclass
class _Step:
    name: str
    model: RosterModel
    parsed: Parsed
    removed: set[str]


def _grades(row: dict[str, str]) -> list[str]:
    grades = _split(row.get("grades"))
    unknown = [g for g in grades if g not in GRADES]
    if unknown:
        raise RowRejected(
            "grades", f"unknown grade level(s) {', '.join(unknown)} (CEDS codes: KG, 01-13, ...)"
        )
    return grades


async def import_roster(
    session: AsyncSession, *, district_id: str, files: dict[str, bytes]
) -> RosterImportRead:
    """Apply the manifest's modes to the files' rows; report bad rows; rebuild the user attributes."""
    manifest = read_manifest(files)
    version = manifest.version
    repo = RosterRepository(session)
    imp = _Importer(district_id, files, manifest)
    steps: list[_Step] = []

    async def step(name: str, model: RosterModel, convert: Callable[..., dict[str, Any] | None]) -> set[str]:
        """Parse one file; what the district holds after it (stored - removed + accepted)."""
        parsed = imp.rows(name, convert)
        existing = await repo.existing_ids(model, district_id=district_id)
        removed = imp.removed(name, parsed, existing)
        steps.append(_Step(name, model, parsed, removed))
        return (existing - removed) | set(parsed.kept)

    def vocabulary(
        row: dict[str, str], name: str, values: frozenset[str], what: str, *, extensible: bool = True
    ) -> str:
        value = _required(row, name)
        if not allowed(value, values, version=version, extensible=extensible):
            raise RowRejected(
                name, f"{name} {value!r} is not a OneRoster {version} {what} ({listing(values)})"
            )
        return value

    def org(row: dict[str, str]) -> dict[str, Any]:
        return {
            "name": _required(row, "name")[:300],
            "type": vocabulary(row, "type", ORG_TYPES, "org type"),
            "parent_id": (row.get("parentSourcedId") or "").strip() or None,
        }

    org_ids = await step("orgs.csv", RosterOrg, org)

    def known_org(value: str, name: str) -> str:
        if value not in org_ids:
            raise RowRejected(name, f"org {value!r} is not in orgs.csv nor in an earlier import")
        return value

    def academic_session(row: dict[str, str]) -> dict[str, Any]:
        start, end = _date(row, "startDate"), _date(row, "endDate")
        if end < start:
            raise RowRejected("endDate", "endDate is before startDate")
        year = (row.get("schoolYear") or "").strip()
        if not re.fullmatch(r"\d{4}", year):
            raise RowRejected("schoolYear", "schoolYear must be the year the school year ends (YYYY)")
        return {
            "title": _required(row, "title")[:300],
            "type": vocabulary(row, "type", SESSION_TYPES, "academic session type"),
            "start_date": start,
            "end_date": end,
            "parent_id": (row.get("parentSourcedId") or "").strip() or None,
            "school_year": int(year),
        }

    session_ids = await step("academicSessions.csv", RosterAcademicSession, academic_session)
    class_terms: list[tuple[str, str]] = []

    def klass(row: dict[str, str]) -> dict[str, Any]:
        terms = _split(row.get("termSourcedIds"))
        # Checked once the district has academic sessions; uploads without any keep importing.
        unknown = [t for t in terms if session_ids and t not in session_ids]
        if unknown:
            raise RowRejected(
                "termSourcedIds", f"term(s) {', '.join(unknown)} not in academicSessions.csv nor known"
            )
        converted = {
            "title": _required(row, "title")[:300],
            "school_id": known_org(_required(row, "schoolSourcedId"), "schoolSourcedId"),
            "course_id": (row.get("courseSourcedId") or "").strip() or None,
            "grades": _grades(row),
            "subjects": [s.lower() for s in _split(row.get("subjects"))],
        }
        class_terms.extend((row["sourcedId"].strip(), t) for t in terms)
        return converted

    class_ids = await step("classes.csv", RosterClass, klass)
    roles: dict[str, tuple[str, str]] = {}

    def role_row(row: dict[str, str]) -> None:
        user = _required(row, "userSourcedId")
        role = vocabulary(row, "role", USER_ROLES[version], "role")
        role_type = vocabulary(row, "roleType", ROLE_TYPES, "roleType", extensible=False)
        org_id = known_org(_required(row, "orgSourcedId"), "orgSourcedId")
        if role_type == "primary" or user not in roles:
            roles[user] = (role, org_id)

    imp.rows("roles.csv", role_row)

    def user(row: dict[str, str]) -> dict[str, Any]:
        sourced_id = row["sourcedId"].strip()
        from_roles = roles.get(sourced_id, ("", ""))
        if not (row.get("role") or "").strip():
            if not from_roles[0]:
                raise RowRejected("role", "role is required (users.csv `role` in 1.1, roles.csv in 1.2)")
            row = {**row, "role": from_roles[0]}
        role = vocabulary(row, "role", USER_ROLES[version], "role")
        org_list = (
            _split(row.get("orgSourcedIds"))
            or _split(row.get("primaryOrgSourcedId"))
            or _split(from_roles[1])
        )
        for org_id in org_list:
            known_org(org_id, "orgSourcedIds")
        enabled = (row.get("enabledUser") or "true").strip().lower()
        if enabled not in ("true", "false"):
            raise RowRejected("enabledUser", "enabledUser must be true or false")
        primary = (row.get("primaryOrgSourcedId") or "").strip()
        return {
            "role": role,
            "school_id": primary or (org_list[0] if org_list else None),
            "org_ids": org_list,
            "grades": _grades(row),
            "given_name": (row.get("givenName") or "").strip()[:200] or None,
            "family_name": (row.get("familyName") or "").strip()[:200] or None,
            "email": (row.get("email") or "").strip()[:300] or None,
            "identifier": (row.get("identifier") or "").strip()[:255] or None,
            "username": (row.get("username") or "").strip()[:255] or None,
            "user_ids": user_ids(row.get("userIds")),
            "enabled": enabled == "true",
        }

    user_ids_known = await step("users.csv", RosterUser, user)

    def enrollment(row: dict[str, str]) -> dict[str, Any]:
        class_id, user_id = _required(row, "classSourcedId"), _required(row, "userSourcedId")
        if class_id not in class_ids:
            raise RowRejected("classSourcedId", f"class {class_id!r} is not in classes.csv nor known")
        if user_id not in user_ids_known:
            raise RowRejected("userSourcedId", f"user {user_id!r} is not in users.csv nor known")
        role = vocabulary(row, "role", ENROLLMENT_ROLES, "enrollment role")
        return {"class_id": class_id, "user_id": user_id, "role": role}

    await step("enrollments.csv", RosterEnrollment, enrollment)
    deleted = await _apply(repo, district_id, steps, class_terms)
    await rebuild_attributes(repo, district_id)
    await identity.reindex(session, district_id)
    key = {s.name: s.name.removesuffix(".csv") for s in steps} | {"academicSessions.csv": "academic_sessions"}
    return RosterImportRead(
        oneroster_version=version,
        modes={name: mode for name, mode in manifest.modes.items() if mode != "absent"},
        upserted={key[s.name]: len(s.parsed.kept) for s in steps},
        deleted={key[s.name]: deleted[s.name] for s in steps},
        errors=imp.errors,
    )


async def _apply(
    repo: RosterRepository, district_id: str, steps: list[_Step], class_terms: list[tuple[str, str]]
) -> dict[str, int]:
    """Write the upserts (parents first) and the removals (children first); rows removed per file."""
    for s in steps:
        if s.parsed.kept:
            await repo.upsert(s.model, list(s.parsed.kept.values()))
    by_name = {s.name: s for s in steps}
    classes = by_name["classes.csv"]
    if classes.parsed.kept or classes.removed:
        await repo.replace_class_terms(district_id, set(classes.parsed.kept) | classes.removed, class_terms)
    deleted = {s.name: 0 for s in steps}
    for s in reversed(steps):
        deleted[s.name] = await repo.delete(s.model, district_id=district_id, sourced_ids=s.removed)
    deleted["enrollments.csv"] += await repo.delete_enrollments_of(
        district_id, user_ids=by_name["users.csv"].removed, class_ids=classes.removed
    )
    return deleted


async def rebuild_attributes(repo: RosterRepository, district_id: str) -> None:
    """Derive each user's grade levels, subjects, schools and counter groups; ask for a regroup.

    The counters are recounted with the new groups in the background (`counting.service.regroup`),
    so an import never holds the district's ingestion or counting up.
    """
    attributes: set[tuple[str, str, str]] = set()
    own_grades: dict[str, list[str]] = {}
    for user_id, school_id, grades in await repo.users(district_id):
        own_grades[user_id] = list(grades or [])
        attributes.update((user_id, "grade", g) for g in grades or [])
        if school_id:
            attributes.add((user_id, "school", school_id))
    for user_id, school_id, grades, subjects in await repo.class_memberships(district_id):
        attributes.add((user_id, "school", school_id))
        attributes.update((user_id, "subject", s) for s in subjects or [])
        if not own_grades.get(user_id):
            attributes.update((user_id, "grade", g) for g in grades or [])
    await repo.replace_attributes(district_id, sorted(attributes))
    users = {u for u, *_ in await repo.users(district_id)}
    await repo.replace_groups(district_id, user_groups(attributes, users))
    await request_regroup(repo.session, district_id)
