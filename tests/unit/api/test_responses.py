"""The API's JSON response renders what Starlette's does, and never fails where that would not."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from starlette import responses

from metalnet.api.responses import JSONResponse

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_the_body_is_the_one_starlette_renders(content: Any) -> None:
    assert JSONResponse(content).body == responses.JSONResponse(content).body


def test_what_orjson_refuses_is_rendered_by_the_standard_encoder() -> None:
    content = {"binding:profile": {"serial": 2**70}}
    body = JSONResponse(content).body
    assert json.loads(body) == content
    assert body == responses.JSONResponse(content).body
