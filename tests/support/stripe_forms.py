"""Reading back what a Stripe client sent, for test doubles that record or answer Stripe calls."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Call:
    """One request a recording Stripe client saw, with its decoded form parameters."""

    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None
    status: int


def read_request(method: str, url: str, headers: Any, post_data: Any) -> tuple[str, dict[str, Any], str | None]:
    """What a Stripe client handed its HTTP client: (path, decoded parameters, idempotency key)."""
    parts = urlsplit(url)
    body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
    params = decode_form(parse_qsl(parts.query if method == "get" else body, keep_blank_values=True))
    return parts.path, params, dict(headers or {}).get("Idempotency-Key")


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding back to data: ``items[0][price]=x`` -> ``{"items": [{"price": "x"}]}``."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        m = re.fullmatch(r"([^\[]+)((?:\[[^\]]*\])*)", key)
        assert m, key
        path = [m.group(1), *re.findall(r"\[([^\]]*)\]", m.group(2))]
        node = out
        for name in path[:-1]:
            node = node.setdefault(name, {})
        node[path[-1]] = value
    nested: dict[str, Any] = _lists(out)
    return nested


def _lists(node: Any) -> Any:
    if isinstance(node, dict):
        if node and all(k.isdigit() for k in node):
            return [_lists(node[k]) for k in sorted(node, key=int)]
        return {k: _lists(v) for k, v in node.items()}
    return node
