"""`benchlab predict`, `benchlab recommend`, `benchlab validate` on a real store."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchlab.cli import main


def make_store(tmp_path: Path, *, simulated: bool = False) -> Path:
    rng = np.random.default_rng(0)
    lines = []
    for h, s in (("gpu-a", 2.0), ("gpu-b", 1.5), ("cpu-a", 0.0), ("cpu-b", -0.3)):
        for m, c in (("bert", 1.0), ("resnet", 0.2), ("gpt", 2.0)):
            for b in (1, 4, 16):
                if h == "gpu-a" and m == "gpt":
                    continue  # the configuration the tests predict
                lat = float(np.exp(1 + c - s + 0.5 * np.log(b) + rng.normal(0, 0.02)))
                rec = {"benchmark": "infer", "model": m, "hardware": h, "hardware_type": "cuda" if "gpu" in h else "cpu",
                       "batch_size": b, "metric": "latency", "unit": "ms", "value": lat, "run": "r1"}  # fmt: skip
                lines.append(json.dumps(rec))
                if simulated:
                    lines.append(json.dumps({**rec, "value": lat * 1.5, "run": "sim", "provenance": "simulated"}))
    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / "results.jsonl"
    src.write_text("\n".join(lines) + "\n")
    db = tmp_path / "store.duckdb"
    assert main(["ingest", str(src), "--store", str(db)]) == 0
    return db


def test_predict_prints_predictions_and_saves(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = make_store(tmp_path)
    capsys.readouterr()
    code = main(["predict", "--store", str(db), "--model", "gpt", "--hardware", "gpu-a", "--batch-size", "4",
                 "--batch-size", "64", "--metric", "latency", "--save", "--json"])  # fmt: skip
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert len(out["predictions"]) == 2 and len(out["saved_ids"]) == 2
    assert {p["provenance"] for p in out["predictions"]} == {"predicted"}
    p4 = next(p for p in out["predictions"] if p["batch_size"] == 4)
    assert p4["lower"] <= p4["prediction"] <= p4["upper"]
    assert out["model"]["training_hash"]
    # the stored predictions validate against nothing measured: a clear one-line error, exit 2
    assert main(["validate", "--store", str(db), "--predictions"]) == 2
    assert "no configuration appears in both" in capsys.readouterr().err


def test_recommend_labels_provenance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = make_store(tmp_path)
    capsys.readouterr()
    assert (
        main(["recommend", "--store", str(db), "--model", "gpt", "--batch-size", "4", "--metric", "latency", "--json"])
        == 0
    )
    rows = json.loads(capsys.readouterr().out)
    prov = {r["hardware"]: r["provenance"] for r in rows}
    assert prov["gpu-a"] == "predicted" and prov["gpu-b"] == "measured"
    assert rows[0]["rank"] == 1


def test_validate_simulated_results(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = make_store(tmp_path, simulated=True)
    capsys.readouterr()
    assert main(["validate", "--store", str(db), "--json"]) == 1  # 50 % high: rated poor
    table = json.loads(capsys.readouterr().out)
    assert table[0]["rating"] == "poor" and abs(table[0]["bias"] - 0.5) < 1e-6
    plain = make_store(tmp_path / "other")
    assert main(["validate", "--store", str(plain)]) == 2
    assert "no simulated results" in capsys.readouterr().err
