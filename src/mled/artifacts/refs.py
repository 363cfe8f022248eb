"""Names of datasets and models, aliases, and references like ``cifar10:3`` or ``resnet@prod``.

Example:
    >>> parse_ref("resnet@production", "model")
    Ref(name='resnet', version=None, alias='production')
    >>> parse_ref("cifar10:3", "dataset")
    Ref(name='cifar10', version=3, alias=None)
"""

from __future__ import annotations

import re
from typing import NamedTuple

from mled.errors import InvalidInput, InvalidName

MAX_NAME_LENGTH = 200
MAX_ALIAS_LENGTH = 64
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_.\-]*$")


class Ref(NamedTuple):
    """A dataset or model reference: a name with an optional version number or alias."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.alias is not None:
            return f"{self.name}@{self.alias}"
        return self.name if self.version is None else f"{self.name}:{self.version}"


def validate_asset_name(name: object, kind: str) -> str:
    """Dataset and model names: letters, digits, '_', '-', '.'; starting with a letter/digit.

    Example:
        >>> validate_asset_name("cifar-10", "dataset")
        'cifar-10'
    """
    if not isinstance(name, str) or not name:
        raise InvalidName(f"{kind} name is empty")
    if len(name) > MAX_NAME_LENGTH or not _NAME.match(name):
        raise InvalidName(
            f"{kind} name {name[:60]!r} is not 1-{MAX_NAME_LENGTH} letters, digits, '_', '-' "
            "or '.' starting with a letter or digit",
            hint="Use a name like cifar10, resnet-50 or sentiment_v2.",
        )
    return name


def validate_alias(alias: object) -> str:
    """Aliases start with a letter (so that they never look like version numbers).

    Example:
        >>> validate_alias("production")
        'production'
    """
    if not isinstance(alias, str) or len(alias) > MAX_ALIAS_LENGTH or not _ALIAS.match(alias):
        raise InvalidName(
            f"alias {alias!r} is not 1-{MAX_ALIAS_LENGTH} letters, digits, '_', '-' or '.' "
            "starting with a letter",
            hint="Use an alias like production, staging or champion.",
        )
    return alias


def parse_version(text: object) -> int:
    """A version number >= 1 (also accepts ``v3``)."""
    raw = str(text).strip()
    digits = raw[1:] if raw[:1] in ("v", "V") else raw
    if not digits.isdigit() or int(digits) < 1:
        raise InvalidInput(f"{text!r} is not a version number", hint="Versions are 1, 2, 3 ...")
    return int(digits)


def parse_ref(text: str, kind: str, *, allow_alias: bool = True) -> Ref:
    """Parse ``NAME``, ``NAME:VERSION`` or (when allowed) ``NAME@ALIAS``."""
    text = text.strip()
    if allow_alias and "@" in text:
        name, alias = text.rsplit("@", 1)
        return Ref(validate_asset_name(name, kind), None, validate_alias(alias))
    if ":" in text:
        name, version = text.rsplit(":", 1)
        return Ref(validate_asset_name(name, kind), parse_version(version))
    return Ref(validate_asset_name(text, kind))
