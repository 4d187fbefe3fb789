"""PerformanceModel: same-device count scaling, parallel workload pairs, pooling and Mondrian details."""

from __future__ import annotations

import json

import numpy as np
import polars as pl

from benchlab.predict import PerformanceModel, accuracy
from benchlab.predict._features import DEVICES, prepare
from benchlab.predict._model import _BASIS, _Core, _enough, _klass


def catalogue(systems: dict[str, tuple[str, int]]) -> pl.DataFrame:
    """A hardware catalogue: name → (device, accelerator count)."""
    return pl.DataFrame(
        {
            "name": list(systems),
            "type": ["cuda"] * len(systems),
            "device_name": [d for d, _ in systems.values()],
            "metadata": [json.dumps({"accelerator_count": n}) for _, n in systems.values()],
        }
    )


def throughput(
    systems: dict[str, tuple[str, int]], speed: dict[str, float], n_model: int = 6, seed: int = 0, mix: float = 0.0
) -> pl.DataFrame:
    """Throughput ∝ accelerator count × per-device speed × model cost (× a per-device model effect of
    size ``mix``), with 2 % noise."""
    rng = np.random.default_rng(seed)
    cost = rng.normal(0, 1.0, n_model)
    own = {d: rng.normal(0, mix, n_model) for d in speed}
    rows = []
    for name, (dev, count) in systems.items():
        for m in range(n_model):
            z = speed[dev] - cost[m] + own[dev][m] + rng.normal(0, 0.02)
            rows.append((name, f"m{m}", float(count * np.exp(z))))
    f = pl.DataFrame(rows, schema=["hardware", "model", "value"], orient="row")
    return f.with_columns(
        benchmark=pl.lit("infer"), metric=pl.lit("throughput"), unit=pl.lit("items/s"), direction=pl.lit("higher"),
        provenance=pl.lit("measured"),
    )  # fmt: skip


def test_device_count_from_the_catalogue() -> None:
    hw = pl.DataFrame(
        {
            "name": ["gpu8", "cpu2", "unknown"],
            "type": ["cuda", "cpu", "cuda"],
            "device_name": ["H100", "Xeon", "L4"],
            "metadata": [
                json.dumps({"accelerator_count": 8}),
                json.dumps({"accelerator_count": 0, "host_processors_per_node": 2, "nodes": 1}),
                json.dumps({}),
            ],
        }
    )
    f = pl.DataFrame({"hardware": ["gpu8", "cpu2", "unknown"], "metric": ["throughput"] * 3})
    out = prepare(f, hw)
    assert out[DEVICES].to_list() == [8.0, 2.0, None]  # a CPU-only system counts its sockets


def test_unseen_system_is_placed_by_per_device_throughput() -> None:
    systems = {
        "a1": ("A", 1), "a2": ("A", 2), "a4": ("A", 4), "b1": ("B", 1), "b2": ("B", 2), "b8": ("B", 8),
        "c1": ("C", 1), "c4": ("C", 4), "a8": ("A", 8),
    }  # fmt: skip
    f = throughput(systems, {"A": 0.0, "B": 1.5, "C": -1.0})
    train, new = f.filter(pl.col("hardware") != "a8"), f.filter(pl.col("hardware") == "a8")
    model = PerformanceModel().fit(train, hardware=catalogue(systems))
    out = model.predict(new.drop("value"))
    assert (out["basis"] == "neighbours").all()
    acc = accuracy(
        new["value"].to_numpy(), out["prediction"].to_numpy(), out["lower"].to_numpy(), out["upper"].to_numpy()
    )
    assert acc["mape"] < 0.05  # 8 × the per-device throughput of the A systems
    # without the catalogue the same system is a stranger: features only
    plain = PerformanceModel().fit(train).predict(new.drop("value"))
    assert (plain["basis"] == "features").all()


def test_same_device_ratio_needs_no_shared_workload() -> None:
    systems = {
        "a1": ("A", 1), "a2": ("A", 2), "a4": ("A", 4), "b1": ("B", 1), "b2": ("B", 2), "b4": ("B", 4),
        "c1": ("C", 1), "c2": ("C", 2),
    }  # fmt: skip
    # each device favours different models: the other devices' model ratios mislead
    f = throughput(systems, {"A": 0.0, "B": 1.0, "C": 0.5}, n_model=6, mix=0.3)
    # a4 ran only m0, the other A systems everything but m0: they share no workload
    a = pl.col("hardware").is_in(["a1", "a2"])
    train = f.filter(~(a & (pl.col("model") == "m0")) & ((pl.col("hardware") != "a4") | (pl.col("model") == "m0")))
    target = f.filter((pl.col("hardware") == "a4") & (pl.col("model") != "m0"))
    no_device = catalogue(systems).drop("device_name")
    errors = []
    for cat in (catalogue(systems), no_device):
        out = PerformanceModel().fit(train, hardware=cat).predict(target.drop("value"))
        errors.append(accuracy(target["value"].to_numpy(), out["prediction"].to_numpy())["mape"])
    # a1 and a2 place a4 by its count, far closer than the other devices' ratios do
    assert errors[0] < 0.2 and errors[0] < errors[1] / 2


def test_new_workload_from_parallel_pairs() -> None:
    rng = np.random.default_rng(3)
    n_hw, n_model = 8, 6
    speed, cost = rng.normal(0, 1, n_hw), rng.normal(0, 1, n_model)
    rows = []
    for h in range(n_hw):
        for m in range(n_model):
            offline = float(np.exp(speed[h] - cost[m] + rng.normal(0, 0.01)))
            for scenario, factor in (("Offline", 1.0), ("Server", 0.8)):
                params = json.dumps({"scenario": scenario})
                rows.append((f"hw{h}", f"m{m}", params, offline * factor * float(np.exp(rng.normal(0, 0.01)))))
    f = pl.DataFrame(rows, schema=["hardware", "model", "params", "value"], orient="row").with_columns(
        benchmark=pl.lit("infer"), metric=pl.lit("throughput"), unit=pl.lit("items/s"), direction=pl.lit("higher"),
        provenance=pl.lit("measured"),
    )  # fmt: skip
    # nobody ran m5 in the Server scenario: its offset to Offline is read off the other models
    new = (pl.col("model") == "m5") & pl.col("params").str.contains("Server")
    train, target = f.filter(~new), f.filter(new)
    out = PerformanceModel().fit(train).predict(target.drop("value"))
    assert (out["basis"] == "neighbours").all()
    acc = accuracy(target["value"].to_numpy(), out["prediction"].to_numpy())
    assert acc["mape"] < 0.03


def test_duplicate_estimates_count_once() -> None:
    core = _Core(shared=None, neighbours=5)  # type: ignore[arg-type]
    inf = np.inf
    E = np.array([[0.0, 0.0, 1.0, 1.0, 2.0]])
    V = np.array([[1.0, inf, 1.0, 1.0, 1.0]])
    mu, _, basis, used = core._combine(E, V)
    assert np.isclose(mu[0], 1.0)  # (0 + 1 + 2) / 3, not (0 + 1 + 1 + 2) / 4
    assert used[0] == 2 and basis[0] == 1


def test_mondrian_classes_and_small_class_rule() -> None:
    assert _enough(9, 0.1) and not _enough(8, 0.1)
    assert _enough(19, 0.05) and not _enough(18, 0.05)
    assert _klass(np.array([0, 1, 2, 3])).tolist() == [0, 1, 1, 2]
    assert _BASIS[[0, 1, 2, 3]].tolist() == ["features", "neighbours", "measured", "neighbours"]
