"""Logical artifact paths: one normal form, and confinement of everything derived from them.

Every artifact path and dataset file path a client sends is checked here before it is stored,
and every download destination is derived from a stored path through :func:`confined_join`.
A path is a relative, ``/``-separated sequence of plain names. Anything that could make it
mean another place on some system is refused with :class:`~mled.errors.UnsafePath` rather
than repaired: ``..`` segments, absolute paths (``/etc``, ``//proc/self/environ``, ``C:``),
backslashes, URIs (``file://``), percent-encodings (``%2e%2e``, ``%252e``), Unicode look-alikes
of ``.`` and ``/`` (fullwidth full stops, the two-dot leader, the division slash), control and
invisible characters (NUL, bidi controls), the URL/shell delimiters ``;`` ``#`` ``?``,
Windows-reserved characters and device names, and segments that Windows would silently
rewrite (a trailing dot or space).

Example:
    >>> normalize_path("./models//best.pt")
    'models/best.pt'
    >>> normalize_path("../etc/passwd")
    Traceback (most recent call last):
    ...
    mled.errors.UnsafePath: artifact path '../etc/passwd' has a '..' segment ...
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from mled.errors import UnsafePath

MAX_PATH_LENGTH = 1024
"""Characters in a whole logical path."""
MAX_SEGMENT_BYTES = 255
"""UTF-8 bytes in one segment (the file-name limit of common file systems)."""

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_PERCENT_ENCODING = re.compile(r"%[0-9A-Fa-f]{2}")
_ASCII_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_FORBIDDEN = {
    "\\": "a backslash",
    ":": "a colon",
    ";": "a ';'",
    "#": "a '#'",
    "?": "a '?'",
    "*": "a '*'",
    "<": "a '<'",
    ">": "a '>'",
    "|": "a '|'",
    '"': "a '\"'",
}
_SEPARATOR_LIKE = set("./\\:%;#?")
# Look-alikes of '.' and '/' that NFKC does not map to ASCII (those that it does map are caught
# by checking each non-ASCII character's NFKC form against _SEPARATOR_LIKE).
_LOOKALIKES = {
    "\u0589",  # ARMENIAN FULL STOP
    "\u06d4",  # ARABIC FULL STOP
    "\u0701",  # SYRIAC SUPRALINEAR FULL STOP
    "\u0702",  # SYRIAC SUBLINEAR FULL STOP
    "\u2044",  # FRACTION SLASH
    "\u2215",  # DIVISION SLASH
    "\u2216",  # SET MINUS
    "\u29f5",  # REVERSE SOLIDUS OPERATOR
    "\u29f8",  # BIG SOLIDUS
    "\u29f9",  # BIG REVERSE SOLIDUS
    "\u3002",  # IDEOGRAPHIC FULL STOP
    "\ua4f8",  # LISU LETTER TONE MYA TI
    "\ua60e",  # VAI FULL STOP
}
_WINDOWS_DEVICES = {
    "CON",
    "PRN",
    "AUX",
    "NUL",
    "CONIN$",
    "CONOUT$",
    *(f"COM{i}" for i in range(1, 10)),
    *(f"LPT{i}" for i in range(1, 10)),
}


def normalize_path(path: object, what: str = "artifact path") -> str:
    """Return the normal form of a logical path, or raise UnsafePath saying what is wrong.

    ``.`` segments and repeated slashes are dropped and the result is in Unicode NFC; every
    other irregularity is refused. ``what`` names the path in the message.

    Example:
        >>> normalize_path("plots/roc.png")
        'plots/roc.png'
        >>> normalize_path("%2e%2e/secret", "dataset file")
        Traceback (most recent call last):
        ...
        mled.errors.UnsafePath: dataset file '%2e%2e/secret' contains a percent-encoding ...
    """
    if not isinstance(path, str):
        raise UnsafePath(f"{what} {path!r} is a {type(path).__name__}, not a string")
    shown = _shown(path)
    if not path.strip():
        raise UnsafePath(f"{what} is empty")
    if len(path) > MAX_PATH_LENGTH:
        raise UnsafePath(f"{what} {shown} is {len(path)} characters; the limit is 1024")
    _check_characters(path, what, shown)
    if path.startswith("/"):
        raise UnsafePath(f"{what} {shown} is absolute; artifact paths are relative")
    segments = [s for s in path.split("/") if s not in ("", ".")]
    if not segments:
        raise UnsafePath(f"{what} {shown} names no file")
    for segment in segments:
        _check_segment(segment, what, shown)
    return unicodedata.normalize("NFC", "/".join(segments))


def normalize_prefix(prefix: str | None, what: str = "artifact folder") -> str:
    """A folder prefix for listing or downloading: '' (everything) or a normalized path.

    Example:
        >>> normalize_prefix(None), normalize_prefix("models/")
        ('', 'models')
    """
    if prefix is None or prefix in ("", "."):
        return ""
    return normalize_path(prefix, what)


def is_under(path: str, prefix: str) -> bool:
    """Whether normalized ``path`` is ``prefix`` itself or inside the folder ``prefix``.

    Example:
        >>> is_under("models/a/b.pt", "models/a"), is_under("models/ab.pt", "models/a")
        (True, False)
    """
    return not prefix or path == prefix or path.startswith(prefix + "/")


def _shown(path: str) -> str:
    text = repr(path)
    return text if len(text) <= 120 else text[:100] + "...'"


def _check_characters(path: str, what: str, shown: str) -> None:
    if "\x00" in path:
        raise UnsafePath(f"{what} {shown} contains a NUL character")
    if _URI.match(path) and "://" in path:
        raise UnsafePath(f"{what} {shown} is a URI; artifact paths are relative file paths")
    for char, name in _FORBIDDEN.items():
        if char in path:
            raise UnsafePath(f"{what} {shown} contains {name}")
    if _PERCENT_ENCODING.search(path):
        raise UnsafePath(
            f"{what} {shown} contains a percent-encoding; paths are stored as typed, never decoded"
        )
    if path.isascii() and not _ASCII_CONTROL.search(path):
        return  # the common case: nothing below can match
    for char in path:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Cs", "Co", "Zl", "Zp"):
            raise UnsafePath(
                f"{what} {shown} contains the control or invisible character U+{ord(char):04X}"
            )
        if char.isascii():
            continue
        if char in _LOOKALIKES or _SEPARATOR_LIKE & set(unicodedata.normalize("NFKC", char)):
            name = unicodedata.name(char, "an unnamed character")
            raise UnsafePath(
                f"{what} {shown} contains U+{ord(char):04X} ({name}), which looks like or "
                "normalizes to a path separator or dot"
            )


def _check_segment(segment: str, what: str, shown: str) -> None:
    if segment == "..":
        raise UnsafePath(f"{what} {shown} has a '..' segment; paths cannot leave their folder")
    if set(segment) == {"."}:
        raise UnsafePath(f"{what} {shown} has a segment made only of dots ({segment!r})")
    if segment != segment.strip() or segment.endswith("."):
        raise UnsafePath(
            f"{what} {shown} has the segment {segment!r} with surrounding spaces or a trailing "
            "dot (Windows would rename it)"
        )
    if segment.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
        raise UnsafePath(f"{what} {shown} uses the reserved device name {segment!r}")
    if len(segment.encode("utf-8")) > MAX_SEGMENT_BYTES:
        raise UnsafePath(f"{what} {shown} has a segment longer than {MAX_SEGMENT_BYTES} bytes")


def confined_join(root: Path, logical: str, what: str = "artifact path") -> Path:
    """The local file for ``logical`` under ``root``, refusing anything that would leave it.

    The path is normalized first; then no existing component between ``root`` and the target
    may be a symlink (a planted link would redirect the write), and the resolved target must
    lie inside the resolved root.

    Example:
        >>> confined_join(Path("/tmp/out"), "models/best.pt")
        PosixPath('/tmp/out/models/best.pt')
    """
    normal = normalize_path(logical, what)
    base = Path(os.path.abspath(root))
    target = base.joinpath(*normal.split("/"))
    current = base
    for part in normal.split("/"):
        current = current / part
        if current.is_symlink():
            raise UnsafePath(
                f"{what} {logical!r} would be written through the symlink {str(current)!r}",
                hint="Download into an empty folder, or remove the symlink first.",
            )
    real_root = os.path.realpath(base)
    real_target = os.path.realpath(target)
    if os.path.commonpath([real_root, real_target]) != real_root:
        raise UnsafePath(f"{what} {logical!r} resolves outside {str(base)!r}")
    return target
