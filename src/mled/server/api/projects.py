"""Projects and their memberships."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from mled.auth.permissions import Action
from mled.entities import Project
from mled.server.deps import ServicesDep, permission

router = APIRouter(tags=["projects"])


class ProjectIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=10_000)


class ProjectOut(BaseModel):
    id: str
    name: str
    description: str
    created_at: datetime

    @classmethod
    def of(cls, p: Project) -> ProjectOut:
        return cls(id=p.id, name=p.name, description=p.description, created_at=p.created_at)


class RoleIn(BaseModel):
    role: str = Field(min_length=1, max_length=32)


@router.get("/projects", openapi_extra=permission(Action.READ))
def list_projects(s: ServicesDep) -> list[ProjectOut]:
    """Projects the caller may read."""
    return [ProjectOut.of(p) for p in s.projects.list()]


@router.post("/projects", status_code=201, openapi_extra=permission(Action.MANAGE))
def create_project(body: ProjectIn, s: ServicesDep) -> ProjectOut:
    return ProjectOut.of(s.projects.create(body.name, body.description))


@router.get("/projects/{name}/members", openapi_extra=permission(Action.MANAGE))
def list_members(name: str, s: ServicesDep) -> dict[str, str]:
    """{username: role} of a project."""
    return s.users.memberships(name)


@router.put("/projects/{name}/members/{username}", openapi_extra=permission(Action.MANAGE))
def set_member(name: str, username: str, body: RoleIn, s: ServicesDep) -> dict[str, str]:
    s.users.set_role(name, username, body.role)
    return {"project": name, "username": username, "role": body.role}


@router.delete(
    "/projects/{name}/members/{username}", status_code=204,
    openapi_extra=permission(Action.MANAGE),
)
def remove_member(name: str, username: str, s: ServicesDep) -> None:
    s.users.set_role(name, username, None)
