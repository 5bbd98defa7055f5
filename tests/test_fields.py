"""The checked reader every loader uses: a field of the wrong type or a missing
required one is one error line naming its path, in the caller's error class;
an absent or null field has its default."""

import pytest

from harness.results.fields import Fields


class OwnError(ValueError):
    pass


def test_a_wrong_or_missing_field_is_one_line_naming_its_path():
    f = Fields({"n": "3", "flag": 1, "inner": {"x": [1, "a"]}}, "trial 2", OwnError)
    with pytest.raises(OwnError, match=r"^trial 2\.n: expected int, found str$"):
        f.int("n")
    with pytest.raises(OwnError, match="trial 2.flag: expected bool"):
        f.bool("flag")
    with pytest.raises(OwnError, match="trial 2: missing 'seed'"):
        f.int("seed", required=True)
    with pytest.raises(OwnError, match=r"trial 2\.inner\.x: expected a list of numbers"):
        f.sub("inner").numbers("x")
    with pytest.raises(OwnError, match="not-an-object: expected an object, found list"):
        Fields([], "not-an-object", OwnError)


def test_absent_and_null_fields_have_their_defaults_and_values_come_as_written():
    f = Fields({"a": None, "yes": True, "count": 2, "ratio": 2}, "x")
    assert f.str("a") == "" and f.str("a", None) is None and f.int("missing") == 0
    assert f.value("yes") is True and f.value("missing", 5) == 5
    assert f.number("ratio") == 2 and isinstance(f.number("ratio"), int)
    assert f.float("ratio") == 2.0 and isinstance(f.float("ratio"), float)
    assert not f.has("a") and f.has("count") and f.strs("missing") == ()
    with pytest.raises(Exception, match="x.count: expected bool, found int"):
        f.bool("count")
