"""Reading untrusted zip archives safely (standard library only).

Every check on the archive's directory runs before a member is read: absolute paths and `..`
(zip slip), symbolic links, nested archives, the member count and the total declared size (a zip
bomb declares its expanded size, or lies about it: reads are bounded by the declared size, and a
member that expands further, or whose CRC does not match, is refused). The archive is read from a
file object, so it never needs to be in memory as a whole.
"""

from __future__ import annotations

import shutil
import stat
import zipfile
import zlib
from pathlib import Path
from typing import IO

NESTED_SUFFIXES = (".zip", ".jar", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError)


class ArchiveRejected(ValueError):
    """An archive that is refused; the message names the archive, the member and the problem."""


def is_zip(head: bytes) -> bool:
    return head[:4] in ZIP_MAGIC


def open_zip(source: IO[bytes], *, name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ArchiveRejected(f"{name}: not a valid zip archive ({exc}).") from None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return info.create_system == 3 and stat.S_ISLNK(info.external_attr >> 16)


def checked_members(
    archive: zipfile.ZipFile, *, name: str, max_members: int, max_total_bytes: int
) -> list[zipfile.ZipInfo]:
    """The archive's regular files, after checking every entry; directories, hidden files and
    `__MACOSX/` entries are skipped. Raises ArchiveRejected for the first bad entry."""
    members, total = [], 0
    for info in archive.infolist():
        member = info.filename
        parts = member.replace("\\", "/").split("/")
        if (
            member.startswith(("/", "\\"))
            or ".." in parts
            or (len(member) > 1 and member[1] == ":")
        ):
            raise ArchiveRejected(
                f"{name}: member {member!r} has an unsafe path (absolute or containing '..')."
            )
        if _is_symlink(info):
            raise ArchiveRejected(f"{name}: member {member!r} is a symbolic link; not accepted.")
        if info.is_dir() or parts[0] == "__MACOSX" or parts[-1].startswith("."):
            continue
        if member.lower().endswith(NESTED_SUFFIXES):
            raise ArchiveRejected(f"{name}: nested archives are not accepted ({member!r}).")
        total += info.file_size
        if total > max_total_bytes:
            raise ArchiveRejected(
                f"{name}: archive expands to more than {max_total_bytes:,} bytes; "
                "split it or raise the limit."
            )
        members.append(info)
        if len(members) > max_members:
            raise ArchiveRejected(
                f"{name}: archive holds more than {max_members} files (the limit)."
            )
    if not members:
        raise ArchiveRejected(f"{name}: archive contains no files.")
    return members


def read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, *, name: str) -> bytes:
    """A member's bytes, at most its declared size; a lying size or CRC is refused."""
    try:
        with archive.open(info) as handle:
            content = handle.read(info.file_size + 1)
    except _READ_ERRORS as exc:
        # A CRC or size that does not match the data, corrupt or truncated compressed data, an
        # unsupported compression method, an encrypted member.
        raise ArchiveRejected(f"{name}: member {info.filename!r} cannot be read ({exc}).") from None
    if len(content) > info.file_size:
        raise ArchiveRejected(f"{name}: member {info.filename!r} is larger than its header says.")
    if is_zip(content):
        raise ArchiveRejected(f"{name}: nested archives are not accepted ({info.filename!r}).")
    return content


def extract_members(
    archive: zipfile.ZipFile, members: list[zipfile.ZipInfo], target: Path, *, name: str
) -> None:
    """Copy checked members under `target` (streamed, each bounded by its declared size)."""
    root = target.resolve()
    for info in members:
        destination = (root / info.filename).resolve()
        if not destination.is_relative_to(root):  # checked_members refused these already
            raise ArchiveRejected(f"{name}: member {info.filename!r} has an unsafe path.")
        destination.parent.mkdir(parents=True, exist_ok=True)
        try:
            with archive.open(info) as source, destination.open("wb") as out:
                shutil.copyfileobj(_Bounded(source, info.file_size), out, 1024 * 1024)
                if source.read(1):
                    raise ArchiveRejected(
                        f"{name}: member {info.filename!r} is larger than its header says."
                    )
        except _READ_ERRORS as exc:
            raise ArchiveRejected(
                f"{name}: member {info.filename!r} cannot be read ({exc})."
            ) from None


class _Bounded:
    def __init__(self, handle: IO[bytes], limit: int):
        self.handle, self.left = handle, limit

    def read(self, size: int = -1) -> bytes:
        if self.left <= 0:
            return b""
        size = self.left if size < 0 else min(size, self.left)
        data = self.handle.read(size)
        self.left -= len(data)
        return data
