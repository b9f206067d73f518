"""Errors of output writers that a user can act on, in one line."""
from __future__ import annotations

import errno
import os
import re
from pathlib import Path

#: every message starts with this, so a driver can find the line in a Spark task error
MARKER = "spark-seis output error:"

_HINTS = {
    errno.ENOSPC: "free space there (or set output_dir elsewhere) and rerun",
    errno.EDQUOT: "free space within your quota and rerun",
    errno.EROFS: "the file system is read-only; set output_dir to a writable folder",
    errno.EACCES: "make the folder writable or set output_dir elsewhere",
}
_HDF5_ERRNO = re.compile(r"errno = (\d+)")


class OutputWriteError(OSError):
    """Writing an output file failed: names the file and the cause, one line."""

    @classmethod
    def from_os_error(cls, exc: BaseException, path: str | os.PathLike) -> "OutputWriteError":
        code = getattr(exc, "errno", None)
        if code is None:  # HDF5 reports the system error inside its message text
            found = _HDF5_ERRNO.search(str(exc))
            code = int(found.group(1)) if found else None
        cause = os.strerror(code) if code else (str(exc).splitlines() or ["unknown"])[0]
        hint = _HINTS.get(code, "check the folder and rerun")
        return cls(code or errno.EIO,
                   f"{MARKER} cannot write {Path(path)}: {cause} ({hint})")

    def __str__(self) -> str:
        return self.strerror or super().__str__()


def output_error_line(text: str) -> str | None:
    """The one-line writer error inside a (Spark) error text, if there is one."""
    for line in text.splitlines():
        at = line.find(MARKER)
        if at >= 0:
            return line[at:].strip()
    return None
