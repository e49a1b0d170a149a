"""OneRoster 1.1 / 1.2 CSV import: orgs, classes, users (and 1.2 roles), enrollments.

Good rows are upserted by sourcedId (a re-import updates, never duplicates); `tobedeleted` rows
are removed; a bad row is reported with its file, line and field and skipped. Afterwards each
user's grade levels, subjects (from their classes) and schools are derived for grouping.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.counting.service import request_regroup, user_groups
from services.analytics.models import RosterClass, RosterEnrollment, RosterOrg, RosterUser
from services.analytics.rosters.repository import RosterModel, RosterRepository
from services.analytics.rosters.schemas import RosterImportRead, RowError
from shared.errors import Unprocessable

FILES = ("orgs.csv", "classes.csv", "users.csv", "roles.csv", "enrollments.csv")
ORG_TYPES = frozenset({"district", "school", "department", "local", "state", "national"})
USER_ROLES = frozenset(
    {
        "administrator",
        "aide",
        "guardian",
        "parent",
        "proctor",
        "relative",
        "student",
        "teacher",
        "districtAdministrator",
        "siteAdministrator",
        "sysAdministrator",
        "principal",
    }
)
ENROLLMENT_ROLES = frozenset({"administrator", "aide", "proctor", "student", "teacher"})
GRADES = frozenset({"IT", "PR", "PK", "TK", "KG", "PS", "UG", "Other", *(f"{n:02d}" for n in range(1, 14))})


class RowRejected(ValueError):
    """A row that cannot be imported, naming the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def collect_files(parts: list[tuple[str, bytes]]) -> dict[str, bytes]:
    """The OneRoster files of an upload: plain CSV parts and/or the CSVs inside zip parts."""
    found: dict[str, bytes] = {}
    for filename, data in parts:
        base = filename.rsplit("/", 1)[-1].lower()
        if base.endswith(".zip"):
            try:
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    for info in archive.infolist():
                        inner = info.filename.rsplit("/", 1)[-1].lower()
                        if inner in FILES:
                            if info.file_size > 200 * 1024 * 1024:
                                raise Unprocessable(f"{inner} in the zip is too large", field="file")
                            found[inner] = archive.read(info)
            except zipfile.BadZipFile as exc:
                raise Unprocessable(f"{filename} is not a valid zip archive", field="file") from exc
        elif base in FILES:
            found[base] = data
    if not found:
        raise Unprocessable(
            "no OneRoster file found; send orgs.csv, classes.csv, users.csv, enrollments.csv "
            "(or a zip of them)",
            field="file",
        )
    return found


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _required(row: dict[str, str], field: str) -> str:
    value = (row.get(field) or "").strip()
    if not value:
        raise RowRejected(field, f"{field} is required")
    return value


class _Importer:
    def __init__(self, district_id: str, files: dict[str, bytes]) -> None:
        self.district_id = district_id
        self.files = files
        self.errors: list[RowError] = []

    def rows(
        self, name: str, convert: Callable[[dict[str, str]], dict[str, Any] | None]
    ) -> tuple[dict[str, dict[str, Any]], list[str]]:
        """Converted rows by sourcedId, and the sourcedIds to delete."""
        data = self.files.get(name)
        kept: dict[str, dict[str, Any]] = {}
        deleted: list[str] = []
        if data is None:
            return kept, deleted
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.errors.append(RowError(file=name, line=1, field="file", message="the file is not UTF-8"))
            return kept, deleted
        reader = csv.DictReader(io.StringIO(text))
        if not reader.fieldnames or "sourcedId" not in reader.fieldnames:
            self.errors.append(
                RowError(file=name, line=1, field="sourcedId", message="the header has no sourcedId")
            )
            return kept, deleted
        for row in reader:
            line = reader.line_num
            try:
                sourced_id = _required(row, "sourcedId")
                if (row.get("status") or "").strip().lower() == "tobedeleted":
                    deleted.append(sourced_id)
                    continue
                converted = convert(row)
            except RowRejected as exc:
                self.errors.append(RowError(file=name, line=line, field=exc.field, message=str(exc)))
                continue
            if converted is not None:
                kept[sourced_id] = {"district_id": self.district_id, "sourced_id": sourced_id, **converted}
        return kept, deleted


def _org(row: dict[str, str]) -> dict[str, Any]:
    org_type = _required(row, "type")
    if org_type not in ORG_TYPES:
        raise RowRejected("type", f"type {org_type!r} is not one of {', '.join(sorted(ORG_TYPES))}")
    return {
        "name": _required(row, "name")[:300],
        "type": org_type,
        "parent_id": (row.get("parentSourcedId") or "").strip() or None,
    }


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
    """Validate and upsert the files' rows; report bad rows; rebuild the user attributes."""
    repo = RosterRepository(session)
    imp = _Importer(district_id, files)
    orgs, orgs_del = imp.rows("orgs.csv", _org)
    org_ids = (await repo.existing_ids(RosterOrg, district_id=district_id) | set(orgs)) - set(orgs_del)

    def known_org(value: str, field: str) -> str:
        if value not in org_ids:
            raise RowRejected(field, f"org {value!r} is not in orgs.csv nor in an earlier import")
        return value

    def klass(row: dict[str, str]) -> dict[str, Any]:
        return {
            "title": _required(row, "title")[:300],
            "school_id": known_org(_required(row, "schoolSourcedId"), "schoolSourcedId"),
            "course_id": (row.get("courseSourcedId") or "").strip() or None,
            "grades": _grades(row),
            "subjects": [s.lower() for s in _split(row.get("subjects"))],
        }

    classes, classes_del = imp.rows("classes.csv", klass)
    roles: dict[str, tuple[str, str]] = {}

    def role_row(row: dict[str, str]) -> None:
        user, role = _required(row, "userSourcedId"), _required(row, "role")
        if role not in USER_ROLES:
            raise RowRejected("role", f"role {role!r} is not a OneRoster role")
        if (row.get("roleType") or "primary").strip() == "primary" or user not in roles:
            roles[user] = (role, (row.get("orgSourcedId") or "").strip())

    imp.rows("roles.csv", role_row)

    def user(row: dict[str, str]) -> dict[str, Any]:
        sourced_id = row["sourcedId"].strip()
        role = (row.get("role") or "").strip() or roles.get(sourced_id, ("", ""))[0]
        if not role:
            raise RowRejected("role", "role is required (users.csv `role`, or roles.csv for OneRoster 1.2)")
        if role not in USER_ROLES:
            raise RowRejected("role", f"role {role!r} is not a OneRoster role")
        org_list = (
            _split(row.get("orgSourcedIds"))
            or _split(row.get("primaryOrgSourcedId"))
            or _split(roles.get(sourced_id, ("", ""))[1])
        )
        for org in org_list:
            known_org(org, "orgSourcedIds")
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
            "enabled": enabled == "true",
        }

    users, users_del = imp.rows("users.csv", user)
    class_ids = (await repo.existing_ids(RosterClass, district_id=district_id) | set(classes)) - set(
        classes_del
    )
    user_ids = (await repo.existing_ids(RosterUser, district_id=district_id) | set(users)) - set(users_del)

    def enrollment(row: dict[str, str]) -> dict[str, Any]:
        class_id, user_id, role = (_required(row, f) for f in ("classSourcedId", "userSourcedId", "role"))
        if class_id not in class_ids:
            raise RowRejected("classSourcedId", f"class {class_id!r} is not in classes.csv nor known")
        if user_id not in user_ids:
            raise RowRejected("userSourcedId", f"user {user_id!r} is not in users.csv nor known")
        if role not in ENROLLMENT_ROLES:
            raise RowRejected("role", f"role {role!r} is not an enrollment role")
        return {"class_id": class_id, "user_id": user_id, "role": role}

    enrollments, enrollments_del = imp.rows("enrollments.csv", enrollment)
    plan: list[tuple[str, RosterModel, dict[str, dict[str, Any]], list[str]]] = [
        ("orgs", RosterOrg, orgs, orgs_del),
        ("classes", RosterClass, classes, classes_del),
        ("users", RosterUser, users, users_del),
        ("enrollments", RosterEnrollment, enrollments, enrollments_del),
    ]
    for _, model, rows, _deleted in plan:
        if rows:
            await repo.upsert(model, list(rows.values()))
    for _, model, _rows, deleted in reversed(plan):
        await repo.delete(model, district_id=district_id, sourced_ids=deleted)
    await rebuild_attributes(repo, district_id)
    return RosterImportRead(
        upserted={name: len(rows) for name, _, rows, _ in plan},
        deleted={name: len(d) for name, _, _, d in plan},
        errors=imp.errors,
    )


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
