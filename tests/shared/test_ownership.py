"""The one rule for ids another service owns (`shared.ownership`), for every set of owners."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import Unprocessable
from shared.ownership import belongs_elsewhere, check_owned, event_names_foreign_id, unknown_here

districts = st.sampled_from(["north", "south", "east", "west"])


@given(owners=st.frozensets(districts), district=districts)
def test_an_id_is_refused_exactly_when_the_copy_places_it_only_in_other_districts(
    owners: frozenset[str], district: str
) -> None:
    refused = belongs_elsewhere(owners, district)
    assert refused == (bool(owners) and district not in owners)
    try:
        check_owned(owners, district_id=district, value="t-1", field="tool_id", label="tool")
    except Unprocessable as exc:
        assert refused
        assert exc.status == 422
        assert exc.extra["errors"] == [{"field": "tool_id", "message": "unknown tool t-1 in this district"}]
    else:
        assert not refused
    assert event_names_foreign_id(owners, district_id=district, field="tool_id", value="t-1") == refused


def test_an_id_of_another_district_reads_like_an_id_nobody_knows() -> None:
    with pytest.raises(Unprocessable) as refused:
        check_owned({"south"}, district_id="north", value="t-9", field="tool_id", label="tool")
    assert refused.value.detail == unknown_here("tool", "t-9") == "unknown tool t-9 in this district"
    assert "south" not in refused.value.detail
