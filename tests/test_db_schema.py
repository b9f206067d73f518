"""Schema type rules: what cautious mode may convert and what it must refuse."""
from __future__ import annotations

import math

import pytest
from bson import ObjectId
from hypothesis import given
from hypothesis import strategies as st

from spark_seis.db.schema import Attribute, ConversionError, Schema, apply_mode


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_from_string_roundtrips(x):
    assert Attribute("calib", "float").convert(repr(x)) == x


@given(st.integers(min_value=-2**53, max_value=2**53))
def test_int_accepts_integral_floats_and_strings(n):
    attr = Attribute("npts", "int")
    assert attr.convert(float(n)) == n and attr.convert(str(n)) == n


@pytest.mark.parametrize("type_,value", [
    ("float", "xyz"), ("float", [1.0]), ("int", 2.5), ("int", "1e400"), ("float", True),
    ("ObjectId", "not-an-id"), ("bool", "maybe"), ("str", {"a": 1}),
])
def test_unconvertible_values_raise_naming_the_key(type_, value):
    with pytest.raises(ConversionError, match="'k'"):
        Attribute("k", type_).convert(value)


def test_apply_mode_semantics():
    cs = Schema.load()["wf_TimeSeries"]
    oid = ObjectId()
    doc = {"npts": "10", "dt": 0.5, "source_id": str(oid), "free": object}
    out, complaints, fatal = apply_mode(doc, cs, "cautious")
    assert out["npts"] == 10 and out["delta"] == 0.5 and out["source_id"] == oid
    assert out["free"] is object and not fatal and len(complaints) == 3
    _, _, fatal = apply_mode(doc, cs, "pedantic")
    assert len(fatal) == 2
    same, complaints, fatal = apply_mode(doc, cs, "promiscuous")
    assert same == doc and not complaints and not fatal
    with pytest.raises(ValueError, match="mode"):
        apply_mode(doc, cs, "sloppy")
    assert math.isinf(Attribute("x", "float").convert("inf"))
