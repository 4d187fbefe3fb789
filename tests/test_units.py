import math

import pytest

from benchlab.units import UnknownUnitError, default_direction, parse_unit


@pytest.mark.parametrize(
    ("text", "canonical", "factor"),
    [
        ("ms", "ms", 1.0),
        ("s", "ms", 1000.0),
        ("µs", "ms", 1e-3),
        ("μs", "ms", 1e-3),  # Greek mu, not micro sign
        ("us", "ms", 1e-3),
        ("ns", "ms", 1e-6),
        ("seconds", "ms", 1000.0),
        ("MiB", "MB", 1.048576),
        ("GB", "MB", 1000.0),
        ("bytes", "MB", 1e-6),
        ("items/s", "items/s", 1.0),
        ("iter/sec", "iter/s", 1.0),
        ("samples/s", "samples/s", 1.0),
        ("sample/s", "samples/s", 1.0),
        ("tokens/ms", "tokens/s", 1000.0),
        ("queries per second", "queries/s", 1.0),
        ("qps", "queries/s", 1.0),
        ("%", "%", 1.0),
        ("GB/s", "MB/s", 1000.0),
    ],
)
def test_units_normalize_to_one_canonical_unit_per_dimension(text, canonical, factor):
    u = parse_unit(text)
    assert u.canonical == canonical
    assert math.isclose(u.factor, factor, rel_tol=1e-12)


def test_throughput_items_are_kept_apart():
    assert parse_unit("tokens/s").canonical != parse_unit("samples/s").canonical


@pytest.mark.parametrize("text", ["furlongs", "ms/ms", "s/s", "kg", "12abc"])
def test_unknown_units_are_errors_not_guesses(text):
    with pytest.raises(UnknownUnitError, match="unknown unit"):
        parse_unit(text)


def test_direction_follows_dimension():
    assert default_direction(parse_unit("ms")) == "lower"
    assert default_direction(parse_unit("MB")) == "lower"
    assert default_direction(parse_unit("items/s")) == "higher"
