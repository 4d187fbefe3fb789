"""The vectorized CSV/Parquet validator: grouping into runs and series, error rows.

``benchlab.ingest._tabular`` groups rows by integer codes rather than by
hashing rows; these tests pin its answers to a plain Python computation, on
row orders and value ranges that take each of its code paths.
"""

import datetime as dt
import random

import polars as pl
import pytest

from benchlab.errors import IngestError
from benchlab.frame import canonical_params, normalize_precision, series_key
from benchlab.ingest._tabular import frame_to_batch


def _batch(df: pl.DataFrame):
    return frame_to_batch("t.parquet", "native-parquet", df, lambda i: f"row {i}", digest="d")


def _frame(n: int, seed: int, *, blocky: bool) -> pl.DataFrame:
    rng = random.Random(seed)
    rows = []
    for run in range(n // 20):
        commit, machine = f"c{run % 7}", rng.choice(["m1", "m2"])
        started = dt.datetime(2025, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=run % 5)
        for _ in range(20):
            rows.append(
                {
                    "benchmark": rng.choice(["b1", "b2", "b3"]),
                    "model": rng.choice(["bert", "t5", None]),
                    "hardware": rng.choice(["cpu", "cuda:0", "rocm"]),
                    "batch_size": rng.choice([1, 8, None]),
                    "precision": rng.choice(["fp16", "FP16", "float16", "int8", None]),
                    "params": rng.choice(['{"b":1,"a":2}', '{"a":2, "b":1}', None]),
                    "metric": rng.choice(["latency", "throughput"]),
                    "value": rng.random(),
                    "unit": rng.choice(["ms", "us", "s"]),
                    "commit": commit,
                    "machine": machine,
                    "started_at": started,
                }
            )
    if not blocky:
        rng.shuffle(rows)
    return pl.DataFrame(rows, schema_overrides={"started_at": pl.Datetime("us", "UTC")})


def _expected(df: pl.DataFrame) -> tuple[list[str], list[int], list[tuple]]:
    """Series key and run index of each row, and the runs, computed row by row."""
    keys, run_of_row, runs = [], [], {}
    for r in df.iter_rows(named=True):
        keys.append(
            series_key(
                r["benchmark"], r["model"], r["hardware"], r["batch_size"], None,
                normalize_precision(r["precision"]), canonical_params(r["params"]), r["metric"],
            )
        )  # fmt: skip
        ident = (r["commit"], r["machine"], r["started_at"])
        run_of_row.append(runs.setdefault(ident, len(runs)))
    return keys, run_of_row, list(runs)


@pytest.mark.parametrize("blocky", [True, False])
def test_rows_group_into_the_same_runs_and_series_as_row_by_row(blocky):
    df = _frame(2000, seed=1, blocky=blocky)
    batch = _batch(df)
    keys, run_of_row, runs = _expected(df)
    assert batch.results["series_key"].to_list() == keys
    assert batch.results["run_index"].to_list() == run_of_row
    # Runs are numbered in order of first appearance, with their own columns.
    got = list(zip(batch.runs["commit"], batch.runs["machine"], batch.runs["started_at"], strict=True))
    assert got == runs


def test_results_leave_in_one_chunk_layout_for_arrow():
    df = pl.concat([_frame(400, seed=s, blocky=True) for s in range(3)], rechunk=False)
    assert df["value"].n_chunks() > 1
    batch = _batch(df)
    layouts = {tuple(s.chunk_lengths()) for s in batch.results.get_columns()}
    assert len(layouts) == 1  # so to_arrow() copies nothing


def test_many_wide_identity_columns_still_group_exactly():
    # The product of the columns' distinct counts passes 2**62: the key is renumbered.
    rng = random.Random(3)
    n = 3000
    df = pl.DataFrame(
        {
            **{c: [f"{c}{rng.randrange(500)}" for _ in range(n)] for c in ("benchmark", "model", "hardware", "metric")},
            "precision": [f"p{rng.randrange(500)}" for _ in range(n)],
            "params": [f'{{"k":{rng.randrange(500)}}}' for _ in range(n)],
            "batch_size": [rng.randrange(1, 10**12) for _ in range(n)],
            "seq_len": [rng.randrange(1, 10**9) for _ in range(n)],
            "value": [1.0] * n,
            "unit": ["ms"] * n,
        }
    )
    df = pl.concat([df, df])  # every series twice
    batch = _batch(df)
    expected = [
        series_key(r["benchmark"], r["model"], r["hardware"], r["batch_size"], r["seq_len"],
                   normalize_precision(r["precision"]), canonical_params(r["params"]), r["metric"])
        for r in df.iter_rows(named=True)
    ]  # fmt: skip
    assert batch.results["series_key"].to_list() == expected


def test_times_that_come_back_later_are_the_same_run():
    t1, t2 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC), dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    df = pl.DataFrame(
        {"benchmark": ["b"] * 6, "metric": ["t"] * 6, "value": [1.0] * 6, "unit": ["ms"] * 6,
         "started_at": [t1, t1, t2, t2, t1, t1]}
    )  # fmt: skip
    batch = _batch(df)
    assert batch.results["run_index"].to_list() == [0, 0, 1, 1, 0, 0]
    assert batch.runs["started_at"].to_list() == [t1, t2]


def test_the_earliest_bad_row_is_reported_among_several_bad_values():
    df = pl.DataFrame(
        {"benchmark": ["b"] * 4, "metric": ["t"] * 4, "value": [1.0] * 4, "unit": ["ms", "furlong", "ms", "parsec"]}
    )  # fmt: skip
    with pytest.raises(IngestError, match=r"row 1: unknown unit 'furlong'"):
        _batch(df)
    df = df.with_columns(unit=pl.lit("ms"), params=pl.Series([None, None, "[1]", "x"]))
    with pytest.raises(IngestError, match=r"row 2: params must be a JSON object, got '\[1\]'"):
        _batch(df)


def test_a_bad_time_names_the_first_row_of_its_run():
    df = pl.DataFrame(
        {"benchmark": ["b"] * 4, "metric": ["t"] * 4, "value": [1.0] * 4, "unit": ["ms"] * 4,
         "commit": ["a", "b", "a", "b"], "started_at": ["2025-01-01", "soon", "2025-01-01", "soon"]}
    )  # fmt: skip
    with pytest.raises(IngestError, match="row 1: not a timestamp: 'soon'"):
        _batch(df)


def test_a_bad_number_is_reported_before_bad_text():
    df = pl.DataFrame(
        {"benchmark": ["b", "b"], "metric": ["t", ""], "value": [1.0, -2.0], "unit": ["ms", "ms"]}
    )  # fmt: skip
    with pytest.raises(IngestError, match="row 1: value is negative"):
        _batch(df)
    with pytest.raises(IngestError, match="row 1: missing required field 'metric'"):
        _batch(df.with_columns(value=pl.lit(1.0)))
