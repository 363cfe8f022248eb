"""Permissions as data: which role may do which action, and one function that decides.

Roles are per project (a membership); ``admin`` is global (``users.is_admin``). An action that
has an "own" variant (editing or deleting experiments) is allowed on another user's experiment
only by roles that hold the unrestricted action.

Example:
    >>> allowed(Role.DATA_SCIENTIST, Action.LOG, is_owner=True)
    True
    >>> allowed(Role.AUDITOR, Action.LOG, is_owner=True)
    False
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    ML_ENGINEER = "ml_engineer"
    DATA_SCIENTIST = "data_scientist"
    PROJECT_MANAGER = "project_manager"
    AUDITOR = "auditor"


class Action(StrEnum):
    READ = "read"  # read, query, compare, export
    LOG = "log"  # create experiments, log to and edit own experiments
    EDIT_ANY = "edit_any"  # edit experiments owned by someone else
    REGISTER_MODEL = "register_model"
    DELETE_OWN = "delete_own"
    DELETE_ANY = "delete_any"
    AUDIT = "audit"  # read the audit log, run compliance reviews, sign reviews
    MANAGE = "manage"  # users, projects, memberships


ROLE_ACTIONS: dict[Role, frozenset[Action]] = {
    Role.ADMIN: frozenset(Action),
    Role.ML_ENGINEER: frozenset(
        {Action.READ, Action.LOG, Action.REGISTER_MODEL, Action.DELETE_OWN}
    ),
    Role.DATA_SCIENTIST: frozenset({Action.READ, Action.LOG, Action.DELETE_OWN}),
    Role.PROJECT_MANAGER: frozenset({Action.READ}),
    Role.AUDITOR: frozenset({Action.READ, Action.AUDIT}),
}

_OWN_VARIANT = {Action.EDIT_ANY: Action.LOG, Action.DELETE_ANY: Action.DELETE_OWN}


def allowed(role: Role | None, action: Action, *, is_owner: bool = False) -> bool:
    """Decide whether ``role`` may perform ``action``; ``None`` (no membership) may do nothing.

    ``EDIT_ANY``/``DELETE_ANY`` fall back to their "own" variant when the caller owns the object.
    """
    if role is None:
        return False
    actions = ROLE_ACTIONS[role]
    if action in actions:
        return True
    own = _OWN_VARIANT.get(action)
    return is_owner and own is not None and own in actions
