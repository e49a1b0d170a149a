"""A roster upload between the request and its import job.

At the request (`inspect`): each part (a zip, or a plain CSV) is already spooled to a temporary file
under the body cap (the router). Zips are opened by their central directory only, and refused when
a OneRoster member is encrypted, compressed with a method we cannot read, or looks like a zip bomb:
every member's declared size counts against `roster_max_unzipped_bytes`, and a member that
declares more than `MAX_RATIO` times its compressed size (above `RATIO_FLOOR`) is refused. Reading
a member never yields more than its declared size (zipfile stops there and fails the CRC check), so
the declared sizes bound the work. The manifest (and, without one, the first line of users.csv) is
read here, so a mismatch is a 422 at once; nothing else is decompressed on the request path.

Between request and job the parts live in the database (`roster_import_chunk`, in pieces of
`CHUNK_BYTES`), written in the transaction that creates the job: replicas need not share a disk, a
job never exists without its file, and the pieces go when the job is done. The replica that runs
the job copies them to a temporary file of its own (`LocalUpload`) and reads each OneRoster file
from it as a stream.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Collection, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

from services.analytics.rosters.manifest import DATA_FILES, MANIFEST, Manifest, read_manifest
from shared.errors import PayloadTooLarge, Unprocessable

FILES = (MANIFEST, *DATA_FILES)
_CANONICAL = {name.lower(): name for name in FILES}
CHUNK_BYTES = 512 * 1024
"""Size of the pieces an upload is stored in (one row each)."""
MAX_RATIO = 200
"""Most a zip member may expand (uncompressed / compressed); real CSVs stay well under 50."""
RATIO_FLOOR = 1024 * 1024
"""Members declaring less than this are not judged by their ratio (tiny files compress oddly)."""
MAX_MANIFEST_BYTES = 64 * 1024
_READABLE = {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}


@dataclass(frozen=True)
class Located:
    """Where one OneRoster file is: a part, the member inside it when the part is a zip, its size."""

    part: int
    member: str | None
    size: int


@dataclass(frozen=True)
class Upload:
    """What an upload holds: its parts (file names), where each OneRoster file is, and its manifest."""

    parts: list[str]
    files: dict[str, Located]
    manifest: Manifest

    def to_json(self) -> dict[str, Any]:
        """The description stored with the job."""
        return {
            "parts": self.parts,
            "files": {name: asdict(at) for name, at in self.files.items()},
            "manifest": asdict(self.manifest),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Upload:
        """The description read back from the job."""
        return cls(
            parts=list(data["parts"]),
            files={name: Located(**at) for name, at in data["files"].items()},
            manifest=Manifest(**data["manifest"]),
        )


class RosterFiles(Protocol):
    """The OneRoster files of an upload, each opened as a binary stream."""

    @property
    def names(self) -> Collection[str]:
        """The files supplied (manifest.csv included), spelled as the specification does."""
        ...

    def open(self, name: str) -> AbstractContextManager[IO[bytes]]:
        """One file's bytes, read as a stream."""
        ...


class BytesFiles:
    """Files given as bytes (tests, tools)."""

    def __init__(self, files: Mapping[str, bytes]) -> None:
        self.files = dict(files)

    @property
    def names(self) -> Collection[str]:
        """The files supplied."""
        return self.files.keys()

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """One file's bytes."""
        yield io.BytesIO(self.files[name])


class LocalUpload:
    """An upload's parts copied to local files: plain CSVs read as they are, zip members streamed."""

    def __init__(self, upload: Upload, paths: list[Path]) -> None:
        self.upload = upload
        self.paths = paths

    @property
    def names(self) -> Collection[str]:
        """The files supplied."""
        return self.upload.files.keys()

    @contextmanager
    def open(self, name: str) -> Iterator[IO[bytes]]:
        """One file's bytes, decompressed as they are read."""
        at = self.upload.files[name]
        path = self.paths[at.part]
        if at.member is None:
            with open(path, "rb") as plain:
                yield plain
            return
        with zipfile.ZipFile(path) as archive, archive.open(at.member) as member:
            yield member


def _canonical(path: str) -> str | None:
    return _CANONICAL.get(path.rsplit("/", 1)[-1].lower())


def _size(file: BinaryIO) -> int:
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(0)
    return size


def _zip_members(filename: str, file: BinaryIO) -> list[tuple[str, zipfile.ZipInfo]]:
    """The OneRoster members of a zip part, checked (422 / 413 before anything is decompressed)."""
    try:
        with zipfile.ZipFile(file) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise Unprocessable(f"{filename} is not a valid zip archive", field="file") from exc
    found = []
    for info in infos:
        name = _canonical(info.filename)
        if name is None or info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise Unprocessable(f"{name} in {filename} is encrypted", field="file")
        if info.compress_type not in _READABLE:
            raise Unprocessable(
                f"{name} in {filename} uses compression method {info.compress_type} "
                "(send it stored or deflated)",
                field="file",
            )
        if info.file_size > RATIO_FLOOR and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise Unprocessable(
                f"{name} in {filename} would expand {info.file_size // max(info.compress_size, 1)} "
                f"times (at most {MAX_RATIO}): refused as a zip bomb",
                field="file",
            )
        found.append((name, info))
    return found


def _head(file: IO[bytes], limit: int) -> bytes:
    """The first `limit` bytes of a stream (and one more, to tell whether there was more)."""
    return file.read(limit + 1)


def inspect(parts: list[tuple[str, BinaryIO]], *, max_unzipped: int) -> tuple[Upload, list[int]]:
    """The OneRoster files of an upload's parts, its manifest checked; and which parts to keep.

    Names are matched without case and kept as the specification spells them
    (`academicsessions.csv` -> `academicSessions.csv`); a file sent twice is refused, so is an
    upload without any data file, or one whose files would unzip to more than `max_unzipped` bytes.
    """
    files: dict[str, Located] = {}
    kept: list[int] = []
    total = 0

    def add(name: str, part: int, member: str | None, size: int) -> None:
        nonlocal total
        if name in files:
            raise Unprocessable(f"the upload has more than one {name}", field="file")
        if part not in kept:
            kept.append(part)
        files[name] = Located(part=kept.index(part), member=member, size=size)
        total += size

    for index, (filename, file) in enumerate(parts):
        base = filename.rsplit("/", 1)[-1].lower()
        if base.endswith(".zip"):
            for name, info in _zip_members(filename, file):
                add(name, index, info.filename, info.file_size)
        elif (plain := _canonical(base)) is not None:
            add(plain, index, None, _size(file))
    if total > max_unzipped:
        raise PayloadTooLarge(
            f"the OneRoster files of this upload hold {total} bytes uncompressed (at most {max_unzipped})",
            errors=[{"field": "file", "message": "the files are too large"}],
        )
    if not files.keys() - {MANIFEST}:
        raise Unprocessable(
            "no OneRoster file found; send orgs.csv, classes.csv, users.csv, enrollments.csv "
            "(with manifest.csv, academicSessions.csv, roles.csv; or a zip of them)",
            field="file",
        )
    local = [parts[i][1] for i in kept]

    def first_bytes(name: str, limit: int) -> bytes | None:
        at = files.get(name)
        if at is None:
            return None
        source = local[at.part]
        source.seek(0)
        if at.member is None:
            data = _head(source, limit)
        else:
            with zipfile.ZipFile(source) as archive, archive.open(at.member) as member:
                data = _head(member, limit)
        source.seek(0)
        return data

    try:
        manifest_bytes = first_bytes(MANIFEST, MAX_MANIFEST_BYTES)
        users_head = first_bytes("users.csv", 64 * 1024) if manifest_bytes is None else None
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise Unprocessable(f"the upload cannot be read: {exc}", field="file") from exc
    if manifest_bytes is not None and len(manifest_bytes) > MAX_MANIFEST_BYTES:
        raise Unprocessable(f"manifest.csv is larger than {MAX_MANIFEST_BYTES} bytes", field=MANIFEST)
    manifest = read_manifest(
        files.keys(),
        manifest=manifest_bytes,
        users_header=users_head.split(b"\n", 1)[0] if users_head is not None else None,
    )
    upload = Upload(parts=[parts[i][0] for i in kept], files=files, manifest=manifest)
    return upload, kept
