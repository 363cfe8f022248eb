"""Projects and their memberships."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, StringConstraints

from mled.auth.permissions import Action, Role
from mled.entities import Project
from mled.server.deps import ServicesDep, permission
from mled.server.schemas import NAME_PATTERN, NO_NUL, Body, Name, UsernamePath, problems

router = APIRouter(tags=["projects"])

ProjectName = Annotated[
    str, Path(min_length=1, max_length=200, pattern=NAME_PATTERN, description="A project name.")
]


class ProjectIn(Body):
    name: Name
    description: Annotated[str, StringConstraints(max_length=10_000, pattern=NO_NUL)] = ""


class ProjectOut(BaseModel):
    id: str
    name: str
    description: str
    created_at: datetime

    @classmethod
    def of(cls, p: Project) -> ProjectOut:
        return cls(id=p.id, name=p.name, description=p.description, created_at=p.created_at)


class RoleIn(Body):
    role: Role = Field(description="The user's role in the project.")


class MembershipOut(BaseModel):
    project: str
    username: str
    role: Role


@router.get("/projects", openapi_extra=permission(Action.READ), responses=problems(401, 503))
def list_projects(s: ServicesDep) -> list[ProjectOut]:
    """Projects the caller may read."""
    return [ProjectOut.of(p) for p in s.projects.list()]


@router.post(
    "/projects",
    status_code=201,
    openapi_extra=permission(Action.MANAGE),
    responses=problems(400, 401, 403, 409, 413, 422, 503),
)
def create_project(body: ProjectIn, s: ServicesDep) -> ProjectOut:
    return ProjectOut.of(s.projects.create(body.name, body.description))


@router.get(
    "/projects/{name}/members",
    openapi_extra=permission(Action.MANAGE),
    responses=problems(401, 403, 404, 422, 503),
)
def list_members(name: ProjectName, s: ServicesDep) -> dict[str, Role]:
    """{username: role} of a project."""
    return {user: Role(role) for user, role in s.users.memberships(name).items()}


@router.put(
    "/projects/{name}/members/{username}",
    openapi_extra=permission(Action.MANAGE),
    responses=problems(400, 401, 403, 404, 413, 422, 503),
)
def set_member(
    name: ProjectName, username: UsernamePath, body: RoleIn, s: ServicesDep
) -> MembershipOut:
    """Grant ``username`` a role in the project (replacing any role they had)."""
    s.users.set_role(name, username, body.role.value)
    return MembershipOut(project=name, username=username, role=body.role)


@router.delete(
    "/projects/{name}/members/{username}",
    status_code=204,
    openapi_extra=permission(Action.MANAGE),
    responses=problems(401, 403, 404, 422, 503),
)
def remove_member(name: ProjectName, username: UsernamePath, s: ServicesDep) -> None:
    s.users.set_role(name, username, None)
