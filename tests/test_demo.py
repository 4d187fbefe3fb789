"""The demo store: content, realism, ground truth, determinism and the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import polars as pl
import pytest

from benchlab import demo
from benchlab.cli import main
from benchlab.errors import IngestError
from benchlab.store import Store


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Store, bool]:
    return demo.ensure_demo(tmp_path_factory.mktemp("demo") / "demo.duckdb")


@pytest.fixture(scope="module")
def store(built: tuple[Store, bool]) -> Store:
    return built[0]


@pytest.fixture(scope="module")
def results(store: Store) -> pl.DataFrame:
    return store.results()


@pytest.fixture(scope="module")
def truth() -> pl.DataFrame:
    return demo.injected_changes()


@pytest.fixture(scope="module")
def ancestry() -> dict[str, frozenset[str]]:
    anc: dict[str, frozenset[str]] = {}
    for sha, parent in demo.load_spec().commits.select("sha", "parent").iter_rows():
        anc[sha] = frozenset({sha}) | (anc[parent] if parent else frozenset())
    return anc


def test_fixture_built_a_new_store(built: tuple[Store, bool]) -> None:
    assert built[1] is True
    assert built[0].path.name == "demo.duckdb"


def test_catalogue_and_coverage(store: Store, results: pl.DataFrame) -> None:
    models = store.models()
    assert models.height >= 20
    assert set(models["family"]) >= {"embedding", "text-generation", "vision", "audio", "multimodal"}
    assert results["model"].n_unique() >= 20
    assert results["model_family"].n_unique() >= 4
    hw = store.hardware()
    assert set(hw["type"]) == {"cpu", "cuda", "rocm", "mps", "openvino", "qnn", "webnn", "webgpu"}
    assert hw["device_name"].null_count() == 0 and (hw["peak_tflops"] > 0).all() and (hw["bandwidth_gbs"] > 0).all()
    assert set(results["hardware_type"]) == set(hw["type"])
    assert results["commit"].n_unique() >= 50
    assert results.filter(pl.col("branch") == "main")["commit"].n_unique() >= 50
    assert set(results["branch"]) == {"main", "feature/fp8-kv-cache"}
    assert {1, 4, 16, 64} <= set(results["batch_size"])
    assert {"fp32", "fp16", "bf16", "int8"} <= set(results["precision"])
    assert set(results["metric"]) == {"latency", "throughput", "memory"}
    assert 100_000 <= results.height <= 300_000
    # The feature branch runs fewer series than main.
    per_branch = results.group_by("branch").agg(pl.col("series_key").n_unique()).sort("branch")
    assert per_branch["series_key"][0] < per_branch["series_key"][1]


def test_everything_is_simulated(store: Store, results: pl.DataFrame) -> None:
    assert set(results["provenance"]) == {"simulated"}
    runs = store.runs()
    assert set(runs["provenance"]) == {"simulated"} and runs["simulated"].all()
    meta = [json.loads(m) for m in runs["metadata"]]
    assert all(m["simulated"] is True and m["generator"] == "benchlab.demo" for m in meta)
    assert set(results["format"]) == {demo.FORMAT}


def test_samples_and_spread(store: Store) -> None:
    df = store.results(samples=True, hardware="webgpu-rtx-3060", model="bert-base-uncased")
    assert df.height > 0
    lengths = df["samples"].list.len()
    assert (lengths == df["n_samples"]).all()
    assert set(df.filter(pl.col("metric") != "memory")["n_samples"]) == {15}
    row = df.filter(pl.col("metric") == "latency").row(0, named=True)
    s = sorted(row["samples"])
    assert row["min"] == s[0] and row["max"] == s[-1]
    assert row["min"] <= row["median"] <= row["p90"] <= row["p99"] <= row["max"]
    assert row["value"] == row["median"] and row["stddev"] > 0
    # Browsers are noisier than a datacenter GPU.
    lat = store.results(metric="latency", batch_size=1)
    cv = lat.with_columns(cv=pl.col("stddev") / pl.col("median")).group_by("hardware_type").agg(pl.col("cv").median())
    cv_of = dict(cv.iter_rows())
    assert cv_of["webgpu"] > 2 * cv_of["cuda"]


def test_reuses_current_store(store: Store) -> None:
    again, built = demo.ensure_demo(store.path)
    assert built is False and again.path == store.path


def _windows(
    series: pl.DataFrame, change: dict, others: list[str], ancestry: dict[str, frozenset[str]]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Runs just before and just after ``change`` with no other change in between."""

    def active(commit: str) -> frozenset[str]:
        return frozenset(c for c in others if c in ancestry[commit])

    x = change["commit"]
    same = active(x)
    rows = series.with_columns(
        before=pl.col("commit").map_elements(lambda c: c in ancestry[x] and c != x and active(c) == same, pl.Boolean),
        after=pl.col("commit").map_elements(lambda c: x in ancestry[c] and active(c) == same, pl.Boolean),
    ).sort("timestamp")
    return rows.filter("before").tail(8), rows.filter("after").head(8)


def test_injected_changes_are_in_the_data(
    results: pl.DataFrame, truth: pl.DataFrame, ancestry: dict[str, frozenset[str]]
) -> None:
    steps = truth.filter(pl.col("kind") != "outlier")
    assert steps["change_id"].n_unique() >= 10
    assert set(steps.filter(~pl.col("derived"))["metric"]) == {"latency", "throughput", "memory"}
    assert steps["size"].abs().min() < 0.1 and steps["size"].abs().max() >= 0.5
    spikes = {(r["series_key"], r["commit"]) for r in truth.filter(pl.col("kind") == "outlier").iter_rows(named=True)}
    for ch in steps.iter_rows(named=True):
        series = results.filter(pl.col("series_key") == ch["series_key"])
        series = series.filter(
            ~pl.struct("series_key", "commit").map_elements(
                lambda s: (s["series_key"], s["commit"]) in spikes, pl.Boolean
            )
        )
        others = [c for c in steps.filter(pl.col("series_key") == ch["series_key"])["commit"] if c != ch["commit"]]
        before, after = _windows(series, ch, others, ancestry)
        assert before.height >= 4 and after.height >= 4, ch["change_id"]
        observed = after["value"].median() / before["value"].median() - 1
        assert abs(observed - ch["size"]) <= 0.02 + 0.15 * abs(ch["size"]), (ch["change_id"], ch["metric"], observed)
        if ch["branch"] != "main":
            assert set(after["branch"]) == {ch["branch"]}


def test_outliers_are_lone_spikes(results: pl.DataFrame, truth: pl.DataFrame) -> None:
    spikes = truth.filter(pl.col("kind") == "outlier")
    assert spikes.height >= 3
    for sp in spikes.iter_rows(named=True):
        series = results.filter(pl.col("series_key") == sp["series_key"], pl.col("branch") == "main").sort("timestamp")
        i = series["commit"].to_list().index(sp["commit"])
        neighbours = pl.concat([series[i - 4 : i], series[i + 1 : i + 5]])["value"]
        ratio = series["value"][i] / neighbours.median() - 1
        assert abs(ratio - sp["size"]) <= 0.05 + 0.15 * abs(sp["size"]), (sp["change_id"], ratio)
        # The run after the spike is back to normal: not a change.
        assert abs(series["value"][i + 1] / neighbours.median() - 1) < 0.1
        if sp["metric"] == "latency":
            # A slow latency run does not leak into the separately measured throughput.
            other = results.filter(
                pl.col("metric") == "throughput",
                pl.col("branch") == "main",
                pl.col("model") == sp["model"],
                pl.col("hardware") == sp["hardware"],
                pl.col("batch_size") == sp["batch_size"],
                pl.col("precision") == sp["precision"],
            ).sort("timestamp")
            near = pl.concat([other[i - 4 : i], other[i + 1 : i + 5]])["value"].median()
            assert abs(other["value"][i] / near - 1) < 0.1


def test_throughput_is_batch_over_latency(results: pl.DataFrame, truth: pl.DataFrame) -> None:
    ident = ["run_id", "model", "hardware", "batch_size", "precision"]
    lat = results.filter(pl.col("metric") == "latency").select(*ident, latency="value")
    tput = results.filter(pl.col("metric") == "throughput").select(*ident, "unit", throughput="value")
    both = lat.join(tput, on=ident)
    assert both.height == lat.height == tput.height
    assert set(both["unit"]) == {"sequences/s", "tokens/s", "images/s", "clips/s"}
    ratio = both["throughput"] * both["latency"] / (1000.0 * both["batch_size"])
    assert 0.9 < ratio.median() < 1.1
    assert ((ratio > 0.8) & (ratio < 1.25)).mean() > 0.99


def _history_medians(results: pl.DataFrame, metric: str) -> pl.DataFrame:
    return (
        results.filter(pl.col("metric") == metric, pl.col("branch") == "main")
        .group_by("model", "hardware", "precision", "batch_size")
        .agg(pl.col("value").median())
        .sort("model", "hardware", "precision", "batch_size")
    )


def test_memory_grows_with_batch_and_throughput_saturates(results: pl.DataFrame) -> None:
    mem = _history_medians(results, "memory")
    grows = mem.group_by("model", "hardware", "precision").agg(ok=(pl.col("value").diff().drop_nulls() > 0).all())
    assert grows["ok"].all()
    # Memory scales with bytes per weight: int8 < fp16 < fp32 for the same case.
    wide = mem.pivot(on="precision", index=["model", "hardware", "batch_size"], values="value")
    cuda = wide.filter(pl.col("hardware") == "cuda-a100-40gb").drop_nulls(["fp32", "fp16", "int8"])
    assert cuda.height > 0 and ((cuda["int8"] < cuda["fp16"]) & (cuda["fp16"] < cuda["fp32"])).all()
    tput = _history_medians(results, "throughput")
    first_last = tput.group_by("model", "hardware", "precision").agg(
        pl.col("value").first().alias("b_min"), pl.col("value").last().alias("b_max"), pl.len().alias("n")
    )
    assert first_last.filter(pl.col("n") > 1).select((pl.col("b_max") > pl.col("b_min")).all()).item()
    # Saturation: going 16 -> 64 gains less than 1 -> 4 on a GPU.
    gpu = tput.filter(
        pl.col("hardware") == "cuda-a100-40gb", pl.col("model") == "bert-base-uncased", pl.col("precision") == "fp16"
    )
    t = dict(zip(gpu["batch_size"], gpu["value"], strict=True))
    assert t[64] / t[16] < t[4] / t[1]


def test_precision_speedups(results: pl.DataFrame) -> None:
    lat = _history_medians(results, "latency").filter(
        pl.col("hardware") == "cuda-a100-40gb", pl.col("batch_size") == 16
    )
    wide = lat.pivot(on="precision", index="model", values="value").drop_nulls(["fp32", "fp16"])
    assert (wide["fp16"] < wide["fp32"]).mean() > 0.9


def test_compatibility(store: Store, results: pl.DataFrame) -> None:
    compat = store.compatibility()
    assert compat.height == store.models().height * store.hardware().height
    assert set(compat["level"]) == {"full", "limited", "experimental", "unsupported"}
    unsupported = compat.filter(pl.col("level") == "unsupported")
    assert unsupported.height >= 5
    assert unsupported["error_type"].null_count() == 0 and unsupported["suggested_fix"].null_count() == 0
    pairs = set(results.select("model", "hardware").unique().iter_rows())
    for model, hw in unsupported.select("model", "hardware").iter_rows():
        assert (model, hw) not in pairs
    runnable = compat.filter(pl.col("level") != "unsupported").select("model", "hardware")
    assert set(runnable.iter_rows()) == pairs
    matrix = store.compatibility_matrix()
    assert matrix.height == store.models().height
    # A limited pair with a precision restriction only has those precisions.
    mps = results.filter(pl.col("model") == "wav2vec2-base", pl.col("hardware") == "mps-m2-max")
    assert set(mps["precision"]) == {"fp32"}
    # Experimental support that starts later has a shorter history.
    qnn = results.filter(pl.col("model") == "llama-3-8b", pl.col("hardware") == "qnn-snapdragon-8-gen3")
    assert (
        0
        < qnn["commit"].n_unique()
        < results.filter(pl.col("hardware") == "qnn-snapdragon-8-gen3")["commit"].n_unique()
    )


def test_integration_tests(store: Store) -> None:
    tests = store.sql("SELECT name, model, hardware, status, error FROM integration_tests ORDER BY test_id")
    assert 10 <= tests.height <= 100
    assert {"passed", "skipped", "failed"} <= set(tests["status"])
    assert tests.filter(pl.col("status") != "passed")["error"].null_count() == 0


def test_truth_points_at_real_series(results: pl.DataFrame, truth: pl.DataFrame) -> None:
    keys = set(results["series_key"])
    assert set(truth["series_key"]) <= keys
    derived = truth.filter(pl.col("derived"))
    assert (derived["metric"] == "throughput").all() and derived.height > 0


def test_spec_errors_name_file_and_line(tmp_path: Path) -> None:
    spec = tmp_path / "data"
    shutil.copytree(demo.spec_dir(), spec)
    assert demo.load_spec(spec).digest == demo.load_spec().digest
    path = spec / "injected_changes.csv"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace("distilbert-base-uncased", "no-such-model")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError, match=r"injected_changes.csv: line 2: unknown model 'no-such-model'"):
        demo.load_spec(spec)
    lines[1] = "C01,regression,latency,distilbert-base-uncased,cpu-xeon-8480,1,fp32,0973c609f8,-0.08,wrong sign"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError, match="a regression of latency cannot have size -0.08"):
        demo.load_spec(spec)


def test_demo_path_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("BENCHLAB_DEMO_DB", str(tmp_path / "d.duckdb"))
    assert demo.demo_path() == tmp_path / "d.duckdb"
    monkeypatch.delenv("BENCHLAB_DEMO_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert demo.demo_path() == tmp_path / "xdg" / "benchlab" / "demo.duckdb"


def test_cli_json(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--store", str(store.path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["path"] == str(store.path)
    assert info["built"] is False
    assert info["provenance"] == ["simulated"]
    assert info["results"] == store.stats()["results"]
    assert info["models"] >= 20 and info["hardware"] == 8 and info["commits"] >= 50
    assert info["injected_changes"] >= 10 and info["injected_outliers"] >= 3


def test_cli_force_rebuilds_identically(
    store: Store, results: pl.DataFrame, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "notes.duckdb"
    target.write_text("not a store")
    assert main(["demo", "--store", str(target)]) == 2
    err = capsys.readouterr().err
    assert "is not a benchlab demo store" in err and "--force" in err
    assert target.read_text() == "not a store"
    assert main(["demo", "--store", str(target), "--force"]) == 0
    out = capsys.readouterr().out
    assert "SIMULATED" in out and str(target) in out
    # Deterministic: the second build holds exactly what the first one does.
    other = Store(target)
    assert other.results().equals(results)
    one = {"hardware": "webgpu-rtx-3060", "samples": True}
    assert other.results(**one).equals(store.results(**one))
    assert other.compatibility().drop("compat_id").equals(store.compatibility().drop("compat_id"))
