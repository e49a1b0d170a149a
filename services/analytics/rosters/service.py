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
- A bad row is reported with its file, line and field and skipped; the rest of the file is kept. A
  file that is not UTF-8 (or not CSV) anywhere is skipped whole. The report keeps the first
  `FIRST_ERRORS` bad rows and counts all of them per file and field.
- Role vocabularies follow the version (`rosters/vocabulary.py`); users keep their `identifier`,
  `username` and `userIds`. Afterwards each user's grade levels, subjects (from their classes) and
  schools are derived for grouping.

How the work stays bounded (an import runs as a background job, `rosters/jobs.py`): each file is
read as a stream, `CHUNK_ROWS` rows at a time. For each chunk the ids its rows refer to (orgs,
terms, classes, users, roles) are looked up, the rows are converted, and what they keep is staged
in temporary tables (`rosters/staging.py`), each step in a short transaction of its own: no
per-row state stays in memory, and neither database is held for long while files are read. The
stored roster changes in one last transaction (all or nothing): the staged rows written, the
removals, then what is derived from them, only when what it is derived from changed: the users'
attributes and counter groups (a page of people at a time) and a regroup asked of the counting
workers when users, classes or enrollments changed, the identity index when users did.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.analytics.counting.service import request_regroup
from services.analytics.identity import service as identity
from services.analytics.models import (
    RosterAcademicSession,
    RosterClass,
    RosterEnrollment,
    RosterOrg,
    RosterUser,
)
from services.analytics.rosters.attributes import rebuild_attributes
from services.analytics.rosters.manifest import MANIFEST, Manifest, read_manifest
from services.analytics.rosters.progress import Progress, Report
from services.analytics.rosters.repository import RosterModel, RosterRepository
from services.analytics.rosters.schemas import RosterImportRead, RowError
from services.analytics.rosters.staging import Staging, Unit, pinned
from services.analytics.rosters.upload import BytesFiles, RosterFiles
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
from services.analytics.rows import RowRejected
from services.analytics.rows import date_cell as _date
from services.analytics.rows import required_cell as _required
from shared.db import Database, utcnow
from shared.validation import NUL, bad_text

log = structlog.get_logger(__name__)

CHUNK_ROWS = 500
"""Rows read, converted and staged in one step (a few milliseconds of work between two awaits)."""
_USER_ID = re.compile(r"\{([^{}:]+):([^{}]+)\}")
Applied = Callable[[AsyncSession, RosterImportRead], Awaitable[None]]
"""Called in the transaction that applies an import (a job records its success in it)."""
_KEYS = {
    "orgs.csv": "orgs",
    "academicSessions.csv": "academic_sessions",
    "classes.csv": "classes",
    "users.csv": "users",
    "enrollments.csv": "enrollments",
}
"""The data files the roster keeps, as the summary names them."""


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def _cells(row: dict[str, Any]) -> None:
    """Refuse a row with a cell no database stores (`shared.validation`: a NUL character)."""
    for name, value in row.items():
        for cell in value if isinstance(value, list) else [value]:
            if isinstance(cell, str) and (reason := bad_text(cell)):
                column = name.replace(NUL, "\\u0000") if name else "row"
                raise RowRejected(column, f"{column if name else 'a cell past the header'} {reason}")


def user_ids(value: str | None) -> list[str]:
    """OneRoster `userIds` (`{LDAP:id},{LTI:id}`) as `Type:value` strings; empty for none."""
    text = (value or "").strip()
    found = [(m.group(1).strip(), m.group(2).strip()) for m in _USER_ID.finditer(text)]
    if _USER_ID.sub("", text).replace(",", "").strip() or any(not t or not v for t, v in found):
        raise RowRejected("userIds", "userIds must look like {LDAP:12345},{LTI:abc} (a type and an id)")
    return [f"{t}:{v}" for t, v in found]


def _grades(row: dict[str, str]) -> list[str]:
    grades = _split(row.get("grades"))
    unknown = [g for g in grades if g not in GRADES]
    if unknown:
        raise RowRejected(
            "grades", f"unknown grade level(s) {', '.join(unknown)} (CEDS codes: KG, 01-13, ...)"
        )
    return grades


@dataclass
class _Read:
    readable: bool = False
    converted: int = 0


@dataclass(frozen=True)
class _File:
    name: str
    model: RosterModel | None
    """The table the file fills (roles.csv fills none: it gives users their roles)."""
    convert: Callable[[dict[str, str]], dict[str, Any] | None]
    refer: Callable[[Staging, list[tuple[int, dict[str, str]]]], Awaitable[None]] | None = None
    """Look up what a chunk's rows refer to, before they are converted."""


def _take(reader: csv.DictReader[str], n: int) -> list[tuple[int, dict[str, str]]]:
    """Up to n rows with the line each ends on."""
    batch = []
    for row in reader:
        batch.append((reader.line_num, row))
        if len(batch) == n:
            break
    return batch


def _stripped(values: Iterator[str | None]) -> set[str]:
    return {v.strip() for v in values if v and v.strip()}


@dataclass
class _Import:
    unit: Unit
    district_id: str
    files: RosterFiles
    manifest: Manifest
    report: Report
    progress: Progress | None
    # what the rows of the chunk being converted refer to (looked up for that chunk)
    orgs: set[str] = field(default_factory=set)
    sessions: set[str] = field(default_factory=set)
    classes: set[str] = field(default_factory=set)
    users: set[str] = field(default_factory=set)
    roles: dict[str, tuple[str, str]] = field(default_factory=dict)
    any_sessions: bool = False
    # what the chunk gives besides its rows
    terms: set[tuple[str, str]] = field(default_factory=set)
    role_rows: dict[str, tuple[str, str, bool]] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return self.manifest.version

    # -- the rules of each file ------------------------------------------------------------------

    def vocabulary(
        self, row: dict[str, str], name: str, values: frozenset[str], what: str, *, extensible: bool = True
    ) -> str:
        value = _required(row, name)
        if not allowed(value, values, version=self.version, extensible=extensible):
            raise RowRejected(
                name, f"{name} {value!r} is not a OneRoster {self.version} {what} ({listing(values)})"
            )
        return value

    def known_org(self, value: str, name: str) -> str:
        if value not in self.orgs:
            raise RowRejected(name, f"org {value!r} is not in orgs.csv nor in an earlier import")
        return value

    def org(self, row: dict[str, str]) -> dict[str, Any]:
        return {
            "name": _required(row, "name")[:300],
            "type": self.vocabulary(row, "type", ORG_TYPES, "org type"),
            "parent_id": (row.get("parentSourcedId") or "").strip() or None,
        }

    def academic_session(self, row: dict[str, str]) -> dict[str, Any]:
        start, end = _date(row, "startDate"), _date(row, "endDate")
        if end < start:
            raise RowRejected("endDate", "endDate is before startDate")
        year = (row.get("schoolYear") or "").strip()
        if not re.fullmatch(r"\d{4}", year):
            raise RowRejected("schoolYear", "schoolYear must be the year the school year ends (YYYY)")
        return {
            "title": _required(row, "title")[:300],
            "type": self.vocabulary(row, "type", SESSION_TYPES, "academic session type"),
            "start_date": start,
            "end_date": end,
            "parent_id": (row.get("parentSourcedId") or "").strip() or None,
            "school_year": int(year),
        }

    def klass(self, row: dict[str, str]) -> dict[str, Any]:
        terms = _split(row.get("termSourcedIds"))
        # Checked once the district has academic sessions; uploads without any keep importing.
        unknown = [t for t in terms if self.any_sessions and t not in self.sessions]
        if unknown:
            raise RowRejected(
                "termSourcedIds", f"term(s) {', '.join(unknown)} not in academicSessions.csv nor known"
            )
        converted = {
            "title": _required(row, "title")[:300],
            "school_id": self.known_org(_required(row, "schoolSourcedId"), "schoolSourcedId"),
            "course_id": (row.get("courseSourcedId") or "").strip() or None,
            "grades": _grades(row),
            "subjects": [s.lower() for s in _split(row.get("subjects"))],
        }
        self.terms.update((row["sourcedId"].strip(), t) for t in terms)
        return converted

    def role(self, row: dict[str, str]) -> None:
        user = _required(row, "userSourcedId")
        role = self.vocabulary(row, "role", USER_ROLES[self.version], "role")
        role_type = self.vocabulary(row, "roleType", ROLE_TYPES, "roleType", extensible=False)
        org_id = self.known_org(_required(row, "orgSourcedId"), "orgSourcedId")
        # a user's primary role wins (the last one); without one, the first role listed
        if role_type == "primary" or user not in self.role_rows:
            self.role_rows[user] = (role, org_id, role_type == "primary")

    def user(self, row: dict[str, str]) -> dict[str, Any]:
        sourced_id = row["sourcedId"].strip()
        from_roles = self.roles.get(sourced_id, ("", ""))
        if not (row.get("role") or "").strip():
            if not from_roles[0]:
                raise RowRejected("role", "role is required (users.csv `role` in 1.1, roles.csv in 1.2)")
            row = {**row, "role": from_roles[0]}
        role = self.vocabulary(row, "role", USER_ROLES[self.version], "role")
        org_list = (
            _split(row.get("orgSourcedIds"))
            or _split(row.get("primaryOrgSourcedId"))
            or _split(from_roles[1])
        )
        for org_id in org_list:
            self.known_org(org_id, "orgSourcedIds")
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

    def enrollment(self, row: dict[str, str]) -> dict[str, Any]:
        class_id, user_id = _required(row, "classSourcedId"), _required(row, "userSourcedId")
        if class_id not in self.classes:
            raise RowRejected("classSourcedId", f"class {class_id!r} is not in classes.csv nor known")
        if user_id not in self.users:
            raise RowRejected("userSourcedId", f"user {user_id!r} is not in users.csv nor known")
        role = self.vocabulary(row, "role", ENROLLMENT_ROLES, "enrollment role")
        return {"class_id": class_id, "user_id": user_id, "role": role}

    # -- what each chunk refers to -------------------------------------------------------------

    async def known_orgs(self, staging: Staging, ids: set[str]) -> None:
        self.orgs = await staging.known(RosterOrg, "orgs.csv", district_id=self.district_id, ids=ids)

    async def refer_classes(self, staging: Staging, batch: list[tuple[int, dict[str, str]]]) -> None:
        await self.known_orgs(staging, _stripped(row.get("schoolSourcedId") for _, row in batch))
        terms = {t for _, row in batch for t in _split(row.get("termSourcedIds"))}
        self.sessions = (
            await staging.known(
                RosterAcademicSession, "academicSessions.csv", district_id=self.district_id, ids=terms
            )
            if self.any_sessions and terms
            else set()
        )

    async def refer_roles(self, staging: Staging, batch: list[tuple[int, dict[str, str]]]) -> None:
        await self.known_orgs(staging, _stripped(row.get("orgSourcedId") for _, row in batch))

    async def refer_users(self, staging: Staging, batch: list[tuple[int, dict[str, str]]]) -> None:
        if "roles.csv" in self.files.names:
            self.roles = await staging.roles_of(_stripped(row.get("sourcedId") for _, row in batch))
        orgs = {
            o
            for _, row in batch
            for column in (row.get("orgSourcedIds"), row.get("primaryOrgSourcedId"))
            for o in _split(column)
        }
        orgs.update(o for _, org in self.roles.values() for o in _split(org))
        await self.known_orgs(staging, orgs)

    async def refer_enrollments(self, staging: Staging, batch: list[tuple[int, dict[str, str]]]) -> None:
        d = self.district_id
        classes = _stripped(row.get("classSourcedId") for _, row in batch)
        users = _stripped(row.get("userSourcedId") for _, row in batch)
        self.classes = await staging.known(RosterClass, "classes.csv", district_id=d, ids=classes)
        self.users = await staging.known(RosterUser, "users.csv", district_id=d, ids=users)

    # -- reading -------------------------------------------------------------------------------

    def layout(self) -> list[_File]:
        """The files in the order they are read (what a file refers to is read before it)."""
        return [
            _File("orgs.csv", RosterOrg, self.org),
            _File("academicSessions.csv", RosterAcademicSession, self.academic_session),
            _File("classes.csv", RosterClass, self.klass, self.refer_classes),
            _File("roles.csv", None, self.role, self.refer_roles),
            _File("users.csv", RosterUser, self.user, self.refer_users),
            _File("enrollments.csv", RosterEnrollment, self.enrollment, self.refer_enrollments),
        ]

    async def read(self, spec: _File) -> _Read:
        """Read, check and stage one file, a chunk at a time."""
        read = _Read()
        if spec.name not in self.files.names:
            return read
        self.report.step = f"reading {spec.name}"
        reader: csv.DictReader[str] | None = None
        try:
            with self.files.open(spec.name) as raw:
                reader = csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8-sig", newline=""))
                if not reader.fieldnames or "sourcedId" not in reader.fieldnames:
                    self.report.reject(
                        RowError(
                            file=spec.name, line=1, field="sourcedId", message="the header has no sourcedId"
                        )
                    )
                    return read
                read.readable = True
                while batch := _take(reader, CHUNK_ROWS):
                    await self.chunk(spec, batch, read)
        except (UnicodeDecodeError, csv.Error) as exc:
            async with self.unit.transaction() as session:
                await Staging(session).forget(spec.model, spec.name)
            self.report.restart(spec.name)
            if isinstance(exc, UnicodeDecodeError):
                error = RowError(file=spec.name, line=1, field="file", message="the file is not UTF-8")
            else:
                line = reader.line_num if reader is not None else 1
                error = RowError(file=spec.name, line=line, field="file", message=f"not CSV: {exc}")
            self.report.reject(error)
            return _Read()
        return read

    async def chunk(self, spec: _File, batch: list[tuple[int, dict[str, str]]], read: _Read) -> None:
        """Look up what the rows refer to, convert them, stage what they keep."""
        if spec.refer is not None:
            async with self.unit.transaction() as session:
                await spec.refer(Staging(session), batch)
        bulk = self.manifest.mode(spec.name) == "bulk"
        counts = self.report.files[spec.name]
        kept: dict[str, dict[str, Any]] = {}
        keys: dict[str, bool] = {}  # listed (bulk) or marked tobedeleted (True)
        self.terms, self.role_rows = set(), {}
        now = utcnow()
        for line, row in batch:
            counts.rows += 1
            try:
                _cells(row)
                sourced_id = _required(row, "sourcedId")
                if (row.get("status") or "").strip().lower() == "tobedeleted":
                    keys[sourced_id] = True
                    counts.accepted += 1
                    continue
                if bulk:
                    keys.setdefault(sourced_id, False)
                converted = spec.convert(row)
            except RowRejected as exc:
                counts.rejected += 1
                self.report.reject(RowError(file=spec.name, line=line, field=exc.field, message=str(exc)))
                continue
            counts.accepted += 1
            read.converted += 1
            if converted is not None:
                kept[sourced_id] = {
                    "district_id": self.district_id,
                    "sourced_id": sourced_id,
                    **converted,
                    "updated_at": now,
                }
        async with self.unit.transaction() as session:
            staging = Staging(session)
            if spec.model is not None:
                await staging.put_rows(spec.model, list(kept.values()))
            await staging.put_keys(spec.name, keys)
            await staging.put_class_terms(self.terms)
            await staging.put_roles(self.role_rows)
            if self.progress is not None:
                await self.progress(session, self.report)
        await asyncio.sleep(0)  # let other requests in between two chunks, whatever the driver did

    async def settle(self, spec: _File, read: _Read) -> None:
        """After a file: record what it removes (a bulk file without one accepted row removes only
        what it marks `tobedeleted`, and says so)."""
        if spec.model is None or spec.name not in self.files.names:
            return
        bulk = self.manifest.mode(spec.name) == "bulk"
        removes_unlisted = bulk and read.readable and read.converted > 0
        async with self.unit.transaction() as session:
            staging = Staging(session)
            if bulk and not removes_unlisted:
                unlisted = await staging.unlisted(spec.model, spec.name, district_id=self.district_id)
                if unlisted:
                    self.report.reject(
                        RowError(
                            file=spec.name,
                            line=1,
                            field="file",
                            message=f"a bulk file with no accepted row removes nothing: "
                            f"{unlisted} stored record(s) it does not list were kept",
                        )
                    )
            await staging.mark_removed(
                spec.model, spec.name, district_id=self.district_id, bulk=removes_unlisted
            )
            if spec.model is RosterAcademicSession:
                self.any_sessions = await staging.holds_any(
                    RosterAcademicSession, spec.name, district_id=self.district_id
                )

    async def apply(self, session: AsyncSession, stored: list[_File]) -> RosterImportRead:
        """Write the staged upserts (parents first) and removals (children first); derive the rest."""
        staging = Staging(session)
        took: dict[str, float] = {}
        started = time.perf_counter()
        upserted: dict[str, int] = {}
        for spec in stored:
            assert spec.model is not None
            upserted[spec.name] = await staging.staged(spec.model)
            if upserted[spec.name]:
                await staging.upsert(spec.model)
        if upserted["classes.csv"] or await staging.removing("classes.csv"):
            await staging.replace_class_terms(RosterClass, "classes.csv", district_id=self.district_id)
        deleted = {spec.name: 0 for spec in stored}
        for spec in reversed(stored):
            assert spec.model is not None
            deleted[spec.name] = await staging.remove(spec.model, spec.name, district_id=self.district_id)
        deleted["enrollments.csv"] += await staging.remove_enrollments_of(
            district_id=self.district_id, users="users.csv", classes="classes.csv"
        )
        took["roster_s"] = time.perf_counter() - started
        changed = {name for name in upserted if upserted[name] or deleted[name]}
        # What is derived changes only with what it is derived from: an upload whose every user row
        # was rejected leaves a district of a million users as it was, without minutes of rework.
        regroup = bool(changed & {"users.csv", "classes.csv", "enrollments.csv"})
        if regroup:
            started = time.perf_counter()
            await rebuild_attributes(RosterRepository(session), self.district_id)
            took["attributes_s"] = time.perf_counter() - started
        if "users.csv" in changed:
            started = time.perf_counter()
            await identity.reindex(session, self.district_id)
            took["identity_s"] = time.perf_counter() - started
        if regroup:  # last: the district's counting row stays locked from here to the commit
            await request_regroup(session, self.district_id)
        log.info(
            "roster_import_applied", district_id=self.district_id, **{k: round(v, 2) for k, v in took.items()}
        )
        return RosterImportRead(
            oneroster_version=self.version,
            modes={name: mode for name, mode in self.manifest.modes.items() if mode != "absent"},
            upserted={_KEYS[name]: n for name, n in upserted.items()},
            deleted={_KEYS[name]: n for name, n in deleted.items()},
        )


async def import_roster(
    unit: Unit,
    *,
    district_id: str,
    files: RosterFiles,
    manifest: Manifest,
    report: Report,
    progress: Progress | None = None,
    applied: Applied | None = None,
) -> RosterImportRead:
    """Read every file into the staging tables, then apply them in one transaction; report bad rows.

    `unit` must run every transaction on one connection (the staging tables are temporary);
    `progress` is called in each step's transaction, `applied` in the one that applies the import.
    """
    imp = _Import(unit, district_id, files, manifest, report, progress)
    async with unit.transaction() as session:
        await Staging(session).create()
    layout = imp.layout()
    for spec in layout:
        await imp.settle(spec, await imp.read(spec))
    report.step = "applying"
    async with unit.transaction() as session:
        if progress is not None:
            await progress(session, report)
    async with unit.transaction() as session:
        summary = await imp.apply(session, [spec for spec in layout if spec.model is not None])
        report.step = None
        if applied is not None:
            await applied(session, summary)
    return summary


async def import_files(db: Database, *, district_id: str, files: Mapping[str, bytes]) -> ImportOutcome:
    """Import files given as bytes (tests, tools): the upload's checks, then the import, at once."""
    supplied = BytesFiles(files)
    manifest = read_manifest(
        supplied.names,
        manifest=files.get(MANIFEST),
        users_header=files["users.csv"].split(b"\n", 1)[0] if "users.csv" in files else None,
    )
    report = Report(supplied.names)
    async with pinned(db) as unit:
        summary = await import_roster(
            unit, district_id=district_id, files=supplied, manifest=manifest, report=report
        )
    return ImportOutcome(summary, report)


@dataclass(frozen=True)
class ImportOutcome:
    """What an import did and the bad rows it met."""

    summary: RosterImportRead
    report: Report
