"""One call to seed every random number generator a training script is likely to use.

Example:
    >>> seeds = seed_everything(42)
    >>> seeds["random"], seeds["PYTHONHASHSEED"]
    (42, '42')
"""

from __future__ import annotations

import importlib
import os
import random
from types import ModuleType
from typing import Any

from mled.errors import InvalidInput

MAX_SEED = 2**32 - 1
"""Largest seed accepted: numpy's legacy global generator takes 32-bit seeds only."""


def seed_everything(seed: int) -> dict[str, Any]:
    """Seed ``random``, numpy's global generator and torch (CPU and CUDA) with ``seed``.

    numpy and torch are seeded when they are installed, and imported for that purpose if the
    script has not imported them yet: seeding after their import is what makes their global
    generators reproducible. ``PYTHONHASHSEED`` is set too, but it only affects
    *subprocesses* (e.g. data-loader workers started with ``spawn``): the hash seed of the
    running interpreter is fixed at its start. Generators created with
    ``numpy.random.default_rng()`` are independent of the global one; pass them the seed.

    Args:
        seed: an int from 0 to 2**32 - 1.

    Returns:
        What was seeded, e.g. ``{"seed": 42, "random": 42, "numpy": 42, "torch": None,
        "torch_cuda": None, "PYTHONHASHSEED": "42"}``; None marks a library that is not
        installed (or, for ``torch_cuda``, no CUDA device). The SDK records this dict on the
        experiment.

    Raises:
        InvalidInput: if ``seed`` is not an int in the accepted range.

    Example:
        >>> import random
        >>> _ = seed_everything(7); first = random.random()
        >>> _ = seed_everything(7); random.random() == first
        True
    """
    _check_seed(seed)
    random.seed(seed)
    numpy = _optional_import("numpy")
    if numpy is not None:
        numpy.random.seed(seed)
    torch = _optional_import("torch")
    torch_cuda = _seed_torch(torch, seed) if torch is not None else None
    os.environ["PYTHONHASHSEED"] = str(seed)
    return {
        "seed": seed,
        "random": seed,
        "numpy": seed if numpy is not None else None,
        "torch": seed if torch is not None else None,
        "torch_cuda": torch_cuda,
        "PYTHONHASHSEED": str(seed),
    }


def _check_seed(seed: object) -> None:
    # bool is an int subclass, but seed_everything(True) is surely a mistake.
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidInput(
            f"seed must be an int from 0 to {MAX_SEED}, got {seed!r}",
            hint="Pass a non-negative integer below 2**32, e.g. seed_everything(42).",
            details={"seed": repr(seed)},
        )


def _optional_import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _seed_torch(torch: ModuleType, seed: int) -> int | None:
    """Seed torch; return the seed if CUDA generators were seeded too, else None."""
    torch.manual_seed(seed)
    cuda = getattr(torch, "cuda", None)
    # is_available() first: seeding CUDA on a machine without it would be queued for nothing.
    if cuda is not None and cuda.is_available():
        cuda.manual_seed_all(seed)
        return seed
    return None
