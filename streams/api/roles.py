"""What each organization role may do: the one home of the role rules. ``streams.api.auth`` derives the role
sets every endpoint checks from ``PERMISSIONS``, and ``GET /api/billing/roles`` shows the same table (the admin
panel's "what each role may do"), so what is shown is what is enforced."""

from __future__ import annotations

from dataclasses import dataclass

from streams.store.orgs import Role

ROLES: tuple[Role, ...] = ("owner", "admin", "member", "viewer")


@dataclass(frozen=True, slots=True)
class Permission:
    name: str
    description: str
    roles: frozenset[Role]


PERMISSIONS: tuple[Permission, ...] = (
    Permission(
        "usage.own",
        "Check entitlements and record usage; read one's own share of the organization's usage",
        frozenset(ROLES),
    ),
    Permission(
        "billing.read",
        "Read the organization's billing: subscriptions, invoices, payments, everyone's usage, members, audit log",
        frozenset({"owner", "admin", "viewer"}),
    ),
    Permission(
        "billing.manage",
        "Change billing and access: subscriptions, payments, billing details, invitations, members, API keys, "
        "webhook endpoints; read contracts",
        frozenset({"owner", "admin"}),
    ),
    Permission(
        "owners.manage",
        "Make, change or remove an owner; transfer ownership",
        frozenset({"owner"}),
    ),
)


def roles_with(permission: str) -> frozenset[Role]:
    for p in PERMISSIONS:
        if p.name == permission:
            return p.roles
    raise KeyError(permission)


def permissions_of(role: Role) -> list[str]:
    return [p.name for p in PERMISSIONS if role in p.roles]
