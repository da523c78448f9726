"""The one identifier pattern (schemas/ids.py): the fast checks of the ingest path agree exactly with the
documented patterns, and with the public pydantic contract."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError, constr

from schemas import ids

ids_text = st.text(st.characters(codec="utf-8"), max_size=130) | st.from_regex(ids.ID, fullmatch=True)
event_ids_text = st.text(st.characters(codec="utf-8"), max_size=130) | st.from_regex(ids.EVENT_ID, fullmatch=True)
PYDANTIC_ID = TypeAdapter(constr(pattern=ids.ID_PATTERN))
PYDANTIC_EVENT_ID = TypeAdapter(constr(pattern=ids.EVENT_ID_PATTERN))


def _pydantic_ok(adapter: TypeAdapter[str], value: str) -> bool:
    try:
        adapter.validate_python(value)
    except ValidationError:
        return False
    return True


@settings(max_examples=500, deadline=None)
@given(ids_text)
def test_valid_id_is_the_pattern(value: str) -> None:
    expected = re.fullmatch(ids.ID_PATTERN.removeprefix("^").removesuffix("$"), value) is not None
    assert ids.valid_id(value) is expected
    assert ids.valid_id(value) is expected  # remembered: the same answer
    assert _pydantic_ok(PYDANTIC_ID, value) is expected
    assert all(ids.ID.fullmatch(k) for k in ids.KNOWN_IDS)


@settings(max_examples=500, deadline=None)
@given(event_ids_text)
def test_valid_event_id_is_the_pattern(value: str) -> None:
    expected = re.fullmatch(ids.EVENT_ID_PATTERN.removeprefix("^").removesuffix("$"), value) is not None
    assert ids.valid_event_id(value) is expected
    assert _pydantic_ok(PYDANTIC_EVENT_ID, value) is expected


@pytest.mark.parametrize("value", ["u\x00", "u\u200b", "u\u202e", "u\n", "u ", "\uff55", "-u", "", "u" * 129])
def test_hostile_ids_are_refused_everywhere(value: str) -> None:
    assert not ids.valid_id(value)
    assert not _pydantic_ok(PYDANTIC_ID, value)


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(codec="utf-8"), max_size=170) | st.from_regex(ids.SOURCE, fullmatch=True))
def test_valid_source_is_the_pattern(value: str) -> None:
    expected = re.fullmatch(ids.SOURCE_PATTERN.removeprefix("^").removesuffix("$"), value) is not None
    assert ids.valid_source(value) is expected
    assert ids.valid_source(value) is expected
    assert all(ids.SOURCE.fullmatch(k) for k in ids.KNOWN_SOURCES)
