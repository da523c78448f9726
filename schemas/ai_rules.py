"""The AI controls rule (docs/ai-controls.md): ONE home for what the API's entitlement answer and the SDK's local
check (``EntitlementCache.check``) refuse, and the ``billing.quota-state`` records that carry the controls and
the cap state to gateways (docs/gateways.md). Pure: no I/O, no clock."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

#: The record kinds on ``billing.quota-state`` besides the metric answers (which carry no ``kind``).
CONTROLS_KIND = "ai_controls"
CAP_KIND = "ai_cap"
#: The record format's version: fields may be added within it; a reader ignores a version it does not know.
RECORD_VERSION = 1
ORG = "*"  # the organization's own row, binding every member
CAP_REACHED = "ai_cap_reached"
APPROVAL_REQUIRED = "approval_required"
AI_METRIC = "ai_requests"
ANY_MODEL = "*"
#: What an approval grants a member: ``("feature", name)`` — a premium feature, or ``ai_requests``: AI requests
#: with any provider and model the controls allow — or ``("model", provider, model)`` (``*``: any of its models).
Subject = tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Controls:
    """One row's controls as a gateway knows them (the organization's, ``user_id`` ``*``, or a member's)."""

    disabled: frozenset[str]
    providers: frozenset[str] | None
    models: frozenset[str] | None
    approval_required: bool = False
    approved: frozenset[Subject] = frozenset()


def decide(rules: Iterable[Controls], feature: str, provider: str | None, model: str | None) -> str | None:
    """Why the controls refuse ``feature`` (with ``provider`` / ``model``), or None: a member is bound by the
    organization's row and their own (off for either is off; a provider or model must be allowed by both)."""
    rules = tuple(rules)
    if any(feature in r.disabled for r in rules):
        return "disabled_by_admin"
    if provider is not None and any(r.providers is not None and provider not in r.providers for r in rules):
        return "provider_not_allowed"
    if model is not None and any(r.models is not None and model not in r.models for r in rules):
        return "model_not_allowed"
    return None


def counts_as_ai(feature: str, premium: bool, provider: str | None, model: str | None) -> bool:
    """What a monthly AI cap stops: AI requests, premium (AI) features, and any check naming a provider or model."""
    return feature == AI_METRIC or premium or bool(provider or model)


def feature_subject(feature: str) -> Subject:
    return ("feature", feature)


def model_subject(provider: str, model: str | None) -> Subject:
    return ("model", provider, model or ANY_MODEL)


def missing_approval(
    approved: frozenset[Subject], feature: str, provider: str | None, model: str | None
) -> Subject | None:
    """What a member must have approved first for this AI check, None when everything it names is: a feature other
    than AI requests needs its own approval; AI requests, and any check naming a provider or model, need AI requests
    in general (``ai_requests``) or that model of the provider (or any of its models) approved."""
    if feature != AI_METRIC and feature_subject(feature) not in approved:
        return feature_subject(feature)
    if feature_subject(AI_METRIC) in approved:
        return None
    if provider is not None:
        if model_subject(provider, None) in approved or (model is not None and ("model", provider, model) in approved):
            return None
        return model_subject(provider, model)
    if model is not None:  # a model without its provider: any provider's approval of it
        return None if any(a[0] == "model" and a[2:] == (model,) for a in approved) else feature_subject(AI_METRIC)
    return None if feature != AI_METRIC else feature_subject(AI_METRIC)


def refusal(
    rules: Iterable[Controls],
    feature: str,
    provider: str | None,
    model: str | None,
    *,
    premium: bool,
    cap_reached: Callable[[], bool],
) -> str | None:
    """The controls' reason; else, for a check that counts as AI use, ``approval_required`` when a binding row
    requires approval and what the check names is not approved for the member (``missing_approval``), then
    ``ai_cap_reached`` when a hard cap binding the caller is reached (``cap_reached`` is asked only then: the API
    reads the use from the warehouse); else None. Applied only to an allowed answer: a control never turns a
    refusal into an allowance."""
    rules = tuple(rules)
    reason = decide(rules, feature, provider, model)
    if reason is not None or not counts_as_ai(feature, premium, provider, model):
        return reason
    if any(r.approval_required for r in rules):
        approved = frozenset().union(*(r.approved for r in rules))
        if missing_approval(approved, feature, provider, model) is not None:
            return APPROVAL_REQUIRED
    return CAP_REACHED if cap_reached() else None


def binding(account: str, user_id: str | None) -> tuple[tuple[str, str], ...]:
    """The (account, row) keys that bind ``user_id``: the organization's row, then the member's own."""
    return ((account, ORG),) + (((account, user_id),) if user_id and user_id != ORG else ())


def controls_key(account: str, user_id: str) -> bytes:
    return f"@{CONTROLS_KIND}:{account}:{user_id}".encode()


def cap_key(account: str, user_id: str) -> bytes:
    return f"@{CAP_KIND}:{account}:{user_id}".encode()


def record_account(key: bytes | None) -> str | None:
    """The account of an AI controls or cap record's key (``@<kind>:<account>:<user_id>``), None for any other."""
    if not key or not key.startswith(b"@"):
        return None
    kind, _, rest = key[1:].decode(errors="replace").partition(":")
    account, _, user = rest.rpartition(":")
    return account if kind in (CONTROLS_KIND, CAP_KIND) and account and user else None


def controls_record(account: str, user_id: str, controls: Controls, as_of: str) -> dict[str, object]:
    def opt(values: frozenset[str] | None) -> list[str] | None:
        return sorted(values) if values is not None else None

    return {
        "kind": CONTROLS_KIND,
        "v": RECORD_VERSION,
        "account_id": account,
        "user_id": user_id,
        "disabled_features": sorted(controls.disabled),
        "allowed_providers": opt(controls.providers),
        "allowed_models": opt(controls.models),
        "approval_required": controls.approval_required,
        "approved": sorted(list(a) for a in controls.approved),
        "as_of": as_of,
    }


def cap_record(account: str, user_id: str, reached: bool, period: str, as_of: str) -> dict[str, object]:
    """``reached``: a hard cap of that row is reached in ``period`` (an alert-only cap is never reached here)."""
    return {
        "kind": CAP_KIND,
        "v": RECORD_VERSION,
        "account_id": account,
        "user_id": user_id,
        "reached": reached,
        "period": period,
        "as_of": as_of,
    }


def parse_controls(record: Mapping[str, object]) -> Controls | None:
    """The controls of a ``ai_controls`` record, None when malformed."""

    def opt(name: str) -> frozenset[str] | None:
        values = record.get(name)
        if values is None:
            return None
        if not isinstance(values, list):
            raise ValueError(name)
        return frozenset(str(v) for v in values)

    try:
        disabled = opt("disabled_features") or frozenset()
        approved = record.get("approved") or []  # absent in records written before approvals (same version)
        if not isinstance(approved, list) or not all(isinstance(a, list) and len(a) in (2, 3) for a in approved):
            raise ValueError("approved")
        return Controls(
            disabled,
            opt("allowed_providers"),
            opt("allowed_models"),
            record.get("approval_required") is True,
            frozenset(tuple(str(x) for x in a) for a in approved),
        )
    except ValueError:
        return None
