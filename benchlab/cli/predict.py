"""Prediction commands: predict, recommend, validate."""

from __future__ import annotations

import itertools
from pathlib import Path

import click

from benchlab.cli._common import emit_json, finish, json_option, open_store, print_frame, store_option
from benchlab.errors import BenchlabError


def _params(pairs: tuple[str, ...]) -> dict[str, str] | None:
    out = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {p!r}", param_hint="--param")
        out[key] = value
    return out or None


_SHOW = [
    "hardware",
    "model",
    "batch_size",
    "precision",
    "metric",
    "prediction",
    "lower",
    "upper",
    "unit",
    "basis",
    "provenance",
]


@click.command()
@click.option("--model", "models", multiple=True, help="Model (repeatable).")
@click.option("--hardware", multiple=True, required=True, help="Hardware platform (repeatable).")
@click.option("--metric", default="throughput", show_default=True, help="Metric to predict.")
@click.option("--batch-size", multiple=True, type=int, help="Batch size (repeatable).")
@click.option("--precision", multiple=True, help="Precision (repeatable).")
@click.option("--seq-len", type=int, default=None, help="Sequence length.")
@click.option("--benchmark", default=None, help="Benchmark name.")
@click.option("--param", "params", multiple=True, help="Other parameter as KEY=VALUE (repeatable).")
@click.option("--coverage", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.9, show_default=True)
@click.option("--save", is_flag=True, help="Store the predictions (with the model version and training hash).")
@store_option
@json_option
def predict(
    models: tuple[str, ...], hardware: tuple[str, ...], metric: str, batch_size: tuple[int, ...],
    precision: tuple[str, ...], seq_len: int | None, benchmark: str | None, params: tuple[str, ...],
    coverage: float, save: bool, store_path: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """Predict a metric for configurations nobody measured, with intervals.

    Fits benchlab's performance model on the store's latest measured results and
    predicts every combination of the given hardware, models, batch sizes and
    precisions.  Every figure printed is PREDICTED (see the basis column: which
    measurements it rests on).
    """
    import polars as pl

    from benchlab.frame import canonical_params, normalize_precision
    from benchlab.predict import PerformanceModel

    store = open_store(store_path)
    results = store.latest()
    if results.is_empty():
        raise BenchlabError(f"the store {store.path} has no results to learn from; ingest some first")
    combos = list(itertools.product(hardware, models or [None], batch_size or [None], precision or [None]))
    query = pl.DataFrame(
        {
            "hardware": [c[0] for c in combos],
            "model": [c[1] for c in combos],
            "batch_size": [c[2] for c in combos],
            "precision": [normalize_precision(c[3]) for c in combos],
        },
        schema={"hardware": pl.Utf8, "model": pl.Utf8, "batch_size": pl.Int64, "precision": pl.Utf8},
    ).with_columns(
        metric=pl.lit(metric), seq_len=pl.lit(seq_len, pl.Int64), benchmark=pl.lit(benchmark, pl.Utf8),
        params=pl.lit(canonical_params(_params(params)), pl.Utf8),
    )  # fmt: skip
    model = PerformanceModel(coverage=coverage).fit(results, hardware=store.hardware(), models=store.models())
    out = model.predict(query)
    ids: list[int] = []
    if save:
        from benchlab.store._predictions import save_predictions

        ids = save_predictions(store, out, model.info)
    if as_json:
        info = {k: v for k, v in model.info.items() if k != "settings"}
        emit_json({"model": info, "saved_ids": ids, "predictions": out.select([c for c in _SHOW if c in out.columns])})
        return
    print_frame(
        out.select([c for c in _SHOW if c in out.columns]), title=f"PREDICTED {metric} ({coverage:.0%} intervals)"
    )
    click.echo(f"model {model.info['model_name']} {model.info['model_version']}, trained on {model.n_train} results "
               f"(inputs {model.info['training_hash'][:12]})" + (f"; saved as predictions {ids[0]}..{ids[-1]}" if ids else ""))  # fmt: skip


@click.command()
@click.option("--model", required=True, help="Model to place.")
@click.option("--metric", default="throughput", show_default=True, help="Metric to rank by.")
@click.option("--batch-size", type=int, default=None)
@click.option("--precision", default=None)
@click.option("--seq-len", type=int, default=None)
@click.option("--benchmark", default=None)
@click.option("--param", "params", multiple=True, help="Other parameter as KEY=VALUE (repeatable).")
@click.option("--max-latency", type=float, default=None, help="Latency limit (ms).")
@click.option("--max-memory", type=float, default=None, help="Memory limit (MB).")
@click.option("--type", "types", multiple=True, help="Allowed hardware type (repeatable): cuda, cpu, rocm …")
@click.option("--conservative", is_flag=True, help="Check limits on the pessimistic end of predicted intervals.")
@click.option("--limit", type=int, default=20, show_default=True, help="Rows to print (text output).")
@store_option
@json_option
def recommend(
    model: str, metric: str, batch_size: int | None, precision: str | None, seq_len: int | None,
    benchmark: str | None, params: tuple[str, ...], max_latency: float | None, max_memory: float | None,
    types: tuple[str, ...], conservative: bool, limit: int, store_path: Path | None, as_json: bool,
) -> None:  # fmt: skip
    """Rank hardware for a model: measured figures where they exist, predicted otherwise."""
    from benchlab.predict import recommend as recommend_

    store = open_store(store_path)
    out = recommend_(
        store, model=model, metric=metric, batch_size=batch_size, precision=precision, seq_len=seq_len,
        benchmark=benchmark, params=_params(params), max_latency=max_latency, max_memory=max_memory,
        hardware_types=list(types) or None, conservative=conservative,
    )  # fmt: skip
    if as_json:
        emit_json(out)
        return
    cols = [c for c in out.columns if c in ("rank", "hardware", "hardware_type", "value", "lower", "upper", "unit",
                                            "provenance", "latency_value", "latency_provenance", "memory_value",
                                            "memory_provenance", "note")]  # fmt: skip
    print_frame(out.select(cols), title=f"{metric} of {model}: measured or PREDICTED (see provenance)", max_rows=limit)


@click.command()
@click.option(
    "--by", multiple=True, default=("metric",), show_default=True, help="Group by (repeatable): metric, hardware …"
)
@click.option(
    "--predictions", "use_predictions", is_flag=True, help="Check stored predictions instead of simulated results."
)
@store_option
@json_option
def validate(by: tuple[str, ...], use_predictions: bool, store_path: Path | None, as_json: bool) -> None:
    """Rate simulated results (or stored predictions) against measurements.

    Per group: MAPE, RMSE, bias, Spearman and a rating (good ≤ 10 % MAPE,
    acceptable ≤ 25 %, else poor).  Exit code 1 if any group is rated poor.
    """
    from benchlab.predict import validate as validate_

    store = open_store(store_path)
    measured = store.latest(provenance="measured")
    if use_predictions:
        from benchlab.store._predictions import load_predictions

        estimated = load_predictions(store)
        what = "stored predictions"
    else:
        estimated = store.latest(provenance="simulated")
        what = "simulated results"
    if estimated.is_empty():
        raise BenchlabError(f"the store {store.path} has no {what} to validate")
    table = validate_(estimated, measured, by=list(by))
    if as_json:
        emit_json(table)
    else:
        print_frame(table, title=f"{what} vs measurements")
    finish(1 if (table["rating"] == "poor").any() else 0)


COMMANDS = [predict, recommend, validate]
