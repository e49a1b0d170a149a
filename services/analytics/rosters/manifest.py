"""`manifest.csv`: the OneRoster version of an upload and the processing mode of each file.

OneRoster 1.2 CSV Binding section 3.1 (https://www.imsglobal.org/spec/oneroster/v1p2/bind/csv,
copy at https://imsjapan.github.io/or12.html; 1.1 CSV Tables section 2.1 reads the same): two
columns `propertyName,value`; `manifest.version` (1.0), `oneroster.version` (1.1 / 1.2) and one
`file.<name>` row per data file with `absent` (not supplied), `bulk` (the complete set: records
imported before and not listed any more are to be removed) or `delta` (changes: `status` active or
`tobedeleted`). "The manifest file contains the list of CSV files that MUST also accompany the
manifest file. If the set of supplied files differs from the list of files in the manifest then an
import error should be reported": a file declared bulk/delta but missing, or supplied but declared
absent (or not declared), is refused here with a 422 naming it.

Without a manifest the upload is taken as it always was: every supplied file is a delta, and the
version is read off the files (roles.csv, or a users.csv without `role`, is 1.2).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection
from dataclasses import dataclass

from services.analytics.rosters.vocabulary import V1_1, V1_2, VERSIONS
from shared.errors import Unprocessable

MANIFEST = "manifest.csv"
DATA_FILES = (
    "orgs.csv",
    "academicSessions.csv",
    "classes.csv",
    "users.csv",
    "roles.csv",
    "enrollments.csv",
)
"""The data files this import reads, spelled as the specification names them."""
MODES = ("bulk", "delta", "absent")


@dataclass(frozen=True)
class Manifest:
    """What an upload declares: its OneRoster version and a mode per data file."""

    version: str
    modes: dict[str, str]
    declared: bool
    """Whether a `manifest.csv` came with the upload (else every supplied file is a delta)."""

    def mode(self, name: str) -> str:
        """`bulk`, `delta` or `absent` for one data file."""
        return self.modes.get(name, "absent")


def _property(name: str) -> str:
    return "file." + name.removesuffix(".csv")


def _inferred_version(supplied: Collection[str], users_header: bytes | None) -> str:
    if "roles.csv" in supplied:
        return V1_2
    if users_header is not None:
        header = users_header.decode("utf-8-sig", errors="replace")
        if "role" not in next(csv.reader([header]), []):
            return V1_2
    return V1_1


def read_manifest(
    files: Collection[str], *, manifest: bytes | None, users_header: bytes | None = None
) -> Manifest:
    """The upload's manifest, checked against the names of the files supplied (422 on any mismatch).

    Without a manifest the version is read off the files: `users_header` is users.csv's first line.
    """
    data = manifest
    if data is None:
        supplied = {name: ("delta" if name in files else "absent") for name in DATA_FILES}
        return Manifest(version=_inferred_version(files, users_header), modes=supplied, declared=False)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Unprocessable("manifest.csv is not UTF-8", field=MANIFEST) from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"propertyName", "value"} <= set(reader.fieldnames):
        raise Unprocessable("manifest.csv needs the header propertyName,value", field=MANIFEST)
    props = {(row.get("propertyName") or "").strip(): (row.get("value") or "").strip() for row in reader}
    version = props.get("oneroster.version", "")
    if version not in VERSIONS:
        raise Unprocessable(
            f"manifest.csv: oneroster.version {version!r} is not one of {', '.join(VERSIONS)}",
            field=MANIFEST,
        )
    modes: dict[str, str] = {}
    for name in DATA_FILES:
        mode = props.get(_property(name), "absent").lower() or "absent"
        if mode not in MODES:
            raise Unprocessable(
                f"manifest.csv: {_property(name)} is {mode!r}, not one of {', '.join(MODES)}",
                field=MANIFEST,
            )
        if mode != "absent" and name not in files:
            raise Unprocessable(
                f"manifest.csv declares {name} as {mode} but the upload has no {name}", field=name
            )
        if mode == "absent" and name in files:
            raise Unprocessable(
                f"{name} is in the upload but manifest.csv declares it absent "
                f"(add `{_property(name)},bulk` or `,delta`)",
                field=name,
            )
        modes[name] = mode
    return Manifest(version=version, modes=modes, declared=True)
