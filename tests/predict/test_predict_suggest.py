"""suggest_next: information per cost, user costs, diversity."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from benchlab.predict import PerformanceModel, PredictionError, suggest_next


def grid(seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n_hw, n_model = 8, 12
    speed = rng.normal(0, 0.8, n_hw)
    cost = rng.normal(0, 1, n_model)
    u, v = rng.normal(0, 0.4, n_hw), rng.normal(0, 0.4, n_model)
    rows = [
        (f"hw{h}", f"m{m}", float(np.exp(2 + cost[m] - speed[h] + u[h] * v[m] + rng.normal(0, 0.02))))
        for h in range(n_hw)
        for m in range(n_model)
    ]
    return pl.DataFrame(rows, schema=["hardware", "model", "value"], orient="row").with_columns(
        benchmark=pl.lit("b"), metric=pl.lit("latency"), unit=pl.lit("ms"), direction=pl.lit("lower")
    )


def setup() -> tuple[PerformanceModel, pl.DataFrame]:
    f = grid()
    known = f.filter((pl.col("hardware") != "hw0") | pl.col("model").is_in(["m0", "m1"]))
    cand = f.filter((pl.col("hardware") == "hw0") & ~pl.col("model").is_in(["m0", "m1"])).drop("value")
    return PerformanceModel(conformal="none").fit(known), cand


def test_picks_k_distinct_candidates_with_scores() -> None:
    model, cand = setup()
    out = suggest_next(model, cand, k=3)
    assert out.height == 3
    assert out["rank"].to_list() == [1, 2, 3]
    assert out["model"].n_unique() == 3
    assert (out["information"] > 0).all() and (out["cost"] > 0).all()
    assert out["provenance"].unique().to_list() == ["predicted"]
    # the first pick has the best information per cost
    everything = suggest_next(model, cand, k=cand.height, diversity=0)
    assert out["model"][0] == everything["model"][0]
    assert everything["score"].is_sorted(descending=True)


def test_default_cost_is_expected_run_time() -> None:
    model, cand = setup()
    out = suggest_next(model, cand, k=cand.height, diversity=0, iterations=10)
    assert np.allclose(out["cost"].to_numpy(), 10 * out["prediction"].to_numpy())
    assert np.allclose(out["score"].to_numpy(), out["information"].to_numpy() / out["cost"].to_numpy())


def test_user_cost_column_changes_the_ranking() -> None:
    model, cand = setup()
    first = suggest_next(model, cand, k=1, cost="uniform")["model"][0]
    priced = cand.with_columns(price=pl.when(pl.col("model") == first).then(1e6).otherwise(1.0))
    assert suggest_next(model, priced, k=1, cost="price")["model"][0] != first
    with pytest.raises(PredictionError, match="cost column"):
        suggest_next(model, cand, cost="nope")
    with pytest.raises(PredictionError, match="positive"):
        suggest_next(model, priced.with_columns(price=pl.lit(0.0)), cost="price")


def test_diversity_avoids_near_duplicates() -> None:
    f = grid()
    # m_dup duplicates m2's profile across systems exactly (×1.01): measuring both tells little more
    dup = f.filter(pl.col("model") == "m2").with_columns(model=pl.lit("m2dup"), value=pl.col("value") * 1.01)
    f = pl.concat([f, dup])
    known = f.filter(pl.col("hardware") != "hw0").vstack(
        f.filter((pl.col("hardware") == "hw0") & (pl.col("model") == "m0"))
    )
    cand = f.filter((pl.col("hardware") == "hw0") & (pl.col("model") != "m0")).drop("value")
    model = PerformanceModel(conformal="none").fit(known)
    plain = suggest_next(model, cand, k=cand.height, diversity=0, cost="uniform")
    order = plain["model"].to_list()
    assert abs(order.index("m2") - order.index("m2dup")) == 1  # equally informative: adjacent
    diverse = suggest_next(model, cand, k=cand.height, diversity=1.0, cost="uniform")["model"].to_list()
    # once one of the pair is picked, the other's score collapses: it falls to the end
    assert max(diverse.index("m2"), diverse.index("m2dup")) == len(diverse) - 1
    assert diverse[0] == order[0]


def test_no_candidates_is_an_error() -> None:
    model, cand = setup()
    with pytest.raises(PredictionError, match="no candidate"):
        suggest_next(model, cand.head(0))
