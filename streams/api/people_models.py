"""The billing API's models of roles and ownership (issue 17, item 2)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from streams.api.models import ID_PATTERN, Role


class PermissionOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    description: str
    roles: list[Role]


class RoleOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role
    permissions: list[str]


class RoleTable(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[RoleOut] = Field(description="each role and the permissions it has")
    permissions: list[PermissionOut] = Field(description="each permission, what it allows and which roles have it")


class OwnershipTransfer(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    user_id: str = Field(pattern=ID_PATTERN, description="the member who becomes an owner")
    stay_owner: bool = Field(False, description="keep the caller an owner too (default: the caller becomes an admin)")
