"""What the Data page accepts as an upload, as pure functions: a file name that stays inside the upload
folder, and contents that are a CSV (or a settings file), not a workbook, an archive or binary data.

The browser sends whatever name it likes; the bytes are whatever was picked. Both are checked before
anything is written or loaded, so a wrong file gets one message naming it instead of a traceback or a
thousand rejected rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from queries.load import LoadError

# The file_uploader's `type`: what the loader reads, plus what people pick by mistake, so those get
# an answer naming the file rather than the widget's bare "file type not allowed".
ACCEPTED = ("csv", "toml")
EXPLAINED = ("xlsx", "xls", "zip")
UPLOADER_TYPES = ACCEPTED + EXPLAINED
MAX_NAME = 255  # the longest file name most file systems take
HEAD = 64 * 1024  # bytes looked at to tell text from binary
SAVE_AS_CSV = "open it in Excel (or your booking software) and save it as CSV (comma delimited), then upload that"

# Windows' drive (`C:`) and UNC (`\\server`) forms count as absolute too: a name is checked, not a path.
_ABSOLUTE = re.compile(r"^(/|\\|[A-Za-z]:)")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UploadRejected(ValueError):
    """An uploaded file that is not used, and why (the message names the file)."""


class UploadRefused(LoadError):
    """Uploads that are not loaded at all, because some files cannot be used: `problems`, one per file."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


def safe_name(name: str) -> str:
    """The name to save an upload under inside the upload folder: its last path part. A name that is
    absolute, climbs out (`..`), holds a control character (NUL included) or is empty is refused."""
    shown = repr(name) if _CONTROL.search(name) else name
    if _CONTROL.search(name):
        raise UploadRejected(f"{shown}: the file name holds a control character; rename the file")
    if _ABSOLUTE.match(name):
        raise UploadRejected(f"{shown}: give the file alone, not a path from the root of a disk")
    parts = re.split(r"[\\/]", name)
    if ".." in parts:
        raise UploadRejected(f"{shown}: a file name may not climb out of its folder (`..`)")
    base = parts[-1].strip()
    if base in ("", "."):
        raise UploadRejected(f"{shown}: not a file name")
    if len(base) > MAX_NAME:
        raise UploadRejected(f"{base[:40]}…: the file name is longer than {MAX_NAME} characters; rename the file")
    return base


def content_problem(name: str, head: bytes) -> str | None:
    """What is wrong with an upload called `name` whose first bytes are `head`, or None for text.
    Workbooks and archives are recognised by their first bytes, whatever the name says."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        if extension in ("xlsx", "xlsm", "csv") or b"[Content_Types].xml" in head[:2048]:
            return f"{name} is an Excel workbook, not a CSV file: {SAVE_AS_CSV}."
        return (f"{name} is a zip archive: unzip it and upload the CSV files inside (bookings.csv, sessions.csv, "
                "…), not the archive.")
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):  # OLE2: Excel 97-2003 .xls
        return f"{name} is an Excel 97-2003 workbook (.xls), not a CSV file: {SAVE_AS_CSV}."
    if extension in EXPLAINED:
        return f"{name} is not a CSV file: {SAVE_AS_CSV}."
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None  # UTF-16 text (Excel's "Unicode text"): the loader reads it, NULs and all
    if b"\x00" in head or _looks_binary(head):
        return (f"{name} is not a text file (it holds binary data): export it again from your booking software "
                "as CSV, or save it as CSV (comma delimited) from Excel.")
    return None


def _looks_binary(head: bytes) -> bool:
    """Many control bytes (other than tab, line ends and form feed) mean binary, whatever the encoding."""
    if not head:
        return False
    control = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return control / len(head) > 0.05


@dataclass(frozen=True)
class Checked:
    """Uploads sorted out: what to save (safe name -> the upload) and what was refused, each with why."""

    accepted: dict[str, object]
    problems: list[str]


def check(files: Iterable) -> Checked:
    """Sort uploads (objects with `.name` and `.getvalue()`, as st.file_uploader gives them) into those to
    load and the problems of the others. A second file with the name of one already taken is refused."""
    accepted: dict[str, object] = {}
    problems: list[str] = []
    for upload in files:
        try:
            name = safe_name(upload.name)
        except UploadRejected as exc:
            problems.append(str(exc))
            continue
        if name.lower() in (n.lower() for n in accepted):
            problems.append(f"{name}: two uploaded files have this name; upload one of them")
            continue
        problem = content_problem(name, bytes(upload.getvalue()[:HEAD]))
        if problem:
            problems.append(problem)
        else:
            accepted[name] = upload
    return Checked(accepted, problems)
