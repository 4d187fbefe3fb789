"""Importer figures: what ../shared/data yields per format, JSON throughput, whole-tree ingest.

Run ``python benchmarks/ingest_formats.py`` (``--n 200000`` results per synthetic
file, ``--skip-tree`` to leave out the whole-tree ingest).  Prints:

1. per format: sources and results read from ``../shared/data`` (and failures);
2. per JSON format: a synthetic file of about ``--n`` results, timed through
   ``read()`` and ``Store.write()`` (target: >= 100k results/s end to end).
   Each file is shaped like the tool's own output, as the examples in
   ``../shared/data`` are: the same fields per record, the same indentation
   (pytest-benchmark 4, Google Benchmark, hyperfine and MLPerf 2, asv compact),
   and for MLPerf one record per (system, benchmark, scenario), ten per system;
3. the whole tree ingested twice into a fresh store (the second pass adds nothing).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import benchlab.ingest as ingest
import benchlab.store as store
from benchlab.errors import IngestError

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
TARGET = 100_000


# -- synthetic files ------------------------------------------------------------------
def gen_pytest(d: Path, n: int, rng: random.Random) -> Path:
    benches = []
    for i in range(n):
        m = rng.uniform(1e-6, 1e-3)
        benches.append({"group": None, "name": f"test_f[{i}]", "fullname": f"tests/test_m{i % 50}.py::test_f[{i}]",
                        "params": {"i": i}, "param": str(i), "extra_info": {},
                        "options": {"disable_gc": False, "timer": "perf_counter", "min_rounds": 5, "max_time": 1.0,
                                    "min_time": 5e-06, "warmup": False},
                        "stats": {"min": m * 0.9, "max": m * 1.5, "mean": m, "stddev": m * 0.05, "rounds": 100,
                                  "median": m * 0.98, "iqr": m * 0.02, "q1": m * 0.97, "q3": m * 0.99,
                                  "iqr_outliers": 3, "stddev_outliers": 2, "outliers": "2;3", "ld15iqr": m * 0.9,
                                  "hd15iqr": m * 1.2, "ops": 1 / m, "total": m * 100, "iterations": 1}})  # fmt: skip
    doc = {"machine_info": {"node": "bench-host", "processor": "x86_64", "machine": "x86_64", "python_version": "3.12.1",
                            "system": "Linux", "cpu": {"brand_raw": "AMD EPYC 7763 64-Core Processor", "count": 4}},
           "commit_info": {"id": "0123456789abcdef", "dirty": False, "branch": "main"},
           "benchmarks": benches, "datetime": "2024-05-01T08:00:00+00:00", "version": "4.0.0"}  # fmt: skip
    p = d / "pytest_benchmark.json"
    p.write_text(json.dumps(doc, indent=4))  # pytest-benchmark writes its JSON with indent=4
    return p


def gen_gbench(d: Path, n: int, rng: random.Random) -> Path:
    entries = []
    for i in range(n // 2):
        t = rng.uniform(10, 1e6)
        entries.append({"name": f"BM_f{i % 500}/{i}", "family_index": i % 500, "per_family_instance_index": i // 500,
                        "run_name": f"BM_f{i % 500}/{i}", "run_type": "iteration", "repetitions": 1,
                        "repetition_index": 0, "threads": 1, "iterations": 1000, "real_time": t,
                        "cpu_time": t * 0.98, "time_unit": "ns"})  # fmt: skip
    doc = {"context": {"date": "2024-01-02T03:04:05+00:00", "host_name": "h", "executable": "./bench", "num_cpus": 8,
                       "mhz_per_cpu": 3000, "cpu_scaling_enabled": False, "library_build_type": "release",
                       "json_schema_version": 1}, "benchmarks": entries}  # fmt: skip
    p = d / "google_benchmark.json"
    p.write_text(json.dumps(doc, indent=2))  # Google Benchmark's JSON reporter indents by 2
    return p


def gen_gab(d: Path, n: int, rng: random.Random) -> Path:
    per_run = 10
    runs = []
    for r in range(n // (2 * per_run)):
        benches = []
        for j in range(per_run):
            mean_ms = rng.uniform(1, 900)
            benches.append({"name": f"benches/test_{j}.py::test_load", "value": 1000 / mean_ms, "unit": "iter/sec",
                            "range": f"stddev: {mean_ms * 1e-4}", "extra": f"mean: {mean_ms} msec\nrounds: 5"})  # fmt: skip
        runs.append({"commit": {"author": {"name": "a", "username": "a"}, "committer": {"name": "a", "username": "a"},
                                "id": f"{r:040x}", "message": f"commit {r}", "timestamp": "2024-01-01T00:00:00Z",
                                "url": f"https://github.com/o/r/commit/{r:040x}"},
                     "date": 1704067200000 + r * 60000, "tool": "pytest", "benches": benches})  # fmt: skip
    p = d / "data.js"
    p.write_text("window.BENCHMARK_DATA = " + json.dumps({"lastUpdate": 1, "repoUrl": "https://github.com/o/r",
                                                           "entries": {"Benchmark": runs}}, indent=2))  # fmt: skip
    return p


def gen_asv(d: Path, n: int, rng: random.Random) -> Path:
    root = d / "asv_results"
    (root / "m1").mkdir(parents=True)
    combos = 100
    results, defs = {}, {"version": 2}
    for i in range(n // combos):
        name = f"benchmarks.B{i}.time_f"
        params = [[str(s) for s in range(25)], ["'s'", "'d'", "'c'", "'z'"]]
        res = [rng.uniform(1e-7, 1e-3) for _ in range(combos)]
        results[name] = [res, params, "v", 1723094074061, 4.0, res, res, res, res, [10] * combos, [10] * combos]
        defs[name] = {
            "name": name,
            "param_names": ["size", "variant"],
            "params": params,
            "type": "time",
            "unit": "seconds",
        }
    (root / "benchmarks.json").write_text(json.dumps(defs))
    (root / "m1" / "machine.json").write_text(json.dumps({"machine": "m1", "cpu": "x", "ram": "16GB", "version": 1}))
    doc = {"commit_hash": "0e098f7e8015da28161de3f735f6c71ae6a64559", "env_name": "virtualenv-py3.12",
           "date": 1723093891000, "params": {"machine": "m1", "python": "3.12"}, "python": "3.12",
           "requirements": {}, "env_vars": {},
           "result_columns": ["result", "params", "version", "started_at", "duration", "stats_ci_99_a",
                              "stats_ci_99_b", "stats_q_25", "stats_q_75", "stats_number", "stats_repeat"],
           "results": results, "durations": {}, "version": 2}  # fmt: skip
    p = root / "m1" / "0e098f7e-virtualenv-py3.12.json"
    p.write_text(json.dumps(doc))
    return p


def gen_asv_graph(d: Path, n: int, rng: random.Random) -> Path:
    site = d / "asv_site"
    g = site / "graphs" / "branch-main" / "machine-m1" / "python-3.12"
    g.mkdir(parents=True)
    combos, revs = 100, n // 100
    params = [[str(s) for s in range(25)], ["'s'", "'d'", "'c'", "'z'"]]
    index = {"revision_to_hash": {str(r): f"{r:040x}" for r in range(revs)},
             "revision_to_date": {str(r): 1718958164000 + r * 60000 for r in range(revs)},
             "params": {"machine": ["m1"], "python": ["3.12"], "branch": ["main"]},
             "benchmarks": {"benchmarks.b.time_b": {"param_names": ["size", "variant"], "params": params,
                                                    "type": "time", "unit": "seconds"}}}  # fmt: skip
    (site / "index.json").write_text(json.dumps(index))
    p = g / "benchmarks.b.time_b.json"
    p.write_text(json.dumps([[r, [rng.uniform(1e-7, 1e-3) for _ in range(combos)]] for r in range(revs)]))
    return p


def gen_mlperf(d: Path, n: int, rng: random.Random) -> Path:
    # Shaped like a real round's table (../shared/data/mlperf/summary_results.json): every
    # field it has, about ten records per system, one record per (system, benchmark,
    # scenario), numbers that vary, power results for a few percent, indent=2.
    models = [
        ("bert-99", {"F1": 90.87}),
        ("resnet", {"acc": 76.078}),
        ("llama2-70b-99.9", {"ROUGE1": 44.43, "TOKENS_PER_SAMPLE": 265.3}),
        ("gptj-99", {"ROUGE1": 42.99, "ROUGE2": 20.11, "ROUGEL": 29.97, "GEN_LEN": 4016878}),
        ("stable-diffusion-xl", {"CLIP_SCORE": 31.73, "FID_SCORE": 23.53}),
        ("dlrm-v2-99", {"AUC": 80.25}),
    ]
    scen = [("Offline", "Samples/s"), ("Server", "Queries/s"), ("SingleStream", "Latency (ms)")]
    recs = []
    for i in range(n):
        system = i // 10  # ten records per system: (model, scenario) pairs are distinct within it
        model, scores = models[i % 10 % 6]
        acc = "  ".join(f"{k}: {v * rng.uniform(0.999, 1.001):.4f}" for k, v in scores.items())  # each its own
        sc, unit = scen[(i % 10) // 6 + (system % 2)]
        sub, plat = f"Submitter{system % 97}", f"{system}xH100-SXM-80GB_TRT"
        base = f"https://github.com/mlcommons/inference_results_v4.1/tree/main/closed/{sub}"
        if model == "llama2-70b-99.9" and sc != "SingleStream":
            unit = "Tokens/s"
        rec = {"ID": f"4.1-{system:05d}", "Submitter": sub, "Availability": "available", "Category": "closed",
               "Suite": "datacenter", "System": f"{sub} server {system}", "Platform": plat, "UsedModel": model,
               "Model": model, "Scenario": sc, "Accuracy": acc, "Nodes": 1,
               "Processor": "AMD EPYC 9654 96-Core Processor", "host_processors_per_node": 2,
               "host_processor_core_count": 96.0 if system % 25 else "96", "Accelerator": "NVIDIA H100-SXM-80GB",
               "a#": float(1 + system % 8), "Location": f"closed/{sub}/results/{plat}/{model}/{sc}",
               "Software": "TensorRT 10.2, CUDA 12.4", "operating_system": "Ubuntu 22.04.4",
               "Notes": "" if system % 7 else "H100 TGP 700W", "compliance": 1, "errors": 0, "version": "v4.1",
               "inferred": 0, "has_power": system % 30 == 0, "weight_data_types": "fp8" if system % 3 else "int8",
               "p#": 2, "Details": f"{base}/results/{plat}", "Code": f"{base}/code",
               "Unique ID (e.g. for Audit)": f"datacenter/closed/{sub}/{plat}", "ColorKey": f"available{sub}",
               "Performance_Result": rng.uniform(1, 1e5), "Performance_Units": unit}  # fmt: skip
        if rec["has_power"]:
            rec["Power_Result"], rec["Power_Units"] = rng.uniform(500, 9000), "Watts"
        recs.append(rec)
    p = d / "summary_results.json"
    p.write_text(json.dumps(recs, indent=2))
    return p


def gen_hyperfine(d: Path, n: int, rng: random.Random) -> Path:
    results = []
    for i in range(n // 3):
        times = [rng.uniform(0.01, 0.02) for _ in range(10)]
        results.append({"command": f"tool --case {i}", "mean": sum(times) / 10, "stddev": 0.001, "median": sorted(times)[5],
                        "user": 0.005, "system": 0.003, "min": min(times), "max": max(times), "times": times,
                        "exit_codes": [0] * 10, "parameters": {"case": str(i)}})  # fmt: skip
    p = d / "hyperfine.json"
    p.write_text(json.dumps({"results": results}, indent=2))  # hyperfine pretty-prints (serde_json)
    return p


GENERATORS = {
    "pytest-benchmark": gen_pytest,
    "google-benchmark": gen_gbench,
    "github-action-benchmark": gen_gab,
    "asv": gen_asv,
    "asv-graph": gen_asv_graph,
    "mlperf-summary": gen_mlperf,
    "hyperfine": gen_hyperfine,
}


# -- sections -------------------------------------------------------------------------
def real_data() -> None:
    print(f"== what ../shared/data yields per importer ({DATA})")
    if not DATA.exists():
        print("   ../shared/data is absent; skipped")
        return
    sources, unknown = ingest.discover([DATA])
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # files ok, failed, results, skipped records
    for p, imp in sources:
        t = tally[imp.name]
        try:
            b = imp.read(p)
        except IngestError as exc:
            t[1] += 1
            print(f"   failed  [{imp.name}] {exc}")
            continue
        t[0] += 1
        t[2] += b.n_results
        t[3] += len(b.skipped)
    print(f"   {'importer':<24} {'files':>6} {'failed':>6} {'results':>8} {'skipped records':>16}")
    for name in sorted(tally):
        ok, bad, n, sk = tally[name]
        print(f"   {name:<24} {ok:>6} {bad:>6} {n:>8} {sk:>16}")
    print(f"   not recognised: {len(unknown)} files ({', '.join(sorted({p.parent.name for p, _ in unknown}))})")


def throughput(n: int) -> None:
    print(f"\n== JSON throughput: synthetic files of ~{n:,} results (target >= {TARGET:,} results/s, read + write)")
    print("   wall clock, and CPU time of this process (a fairer figure when other work loads the machine)")
    print(
        "   json.loads: CPU time of the stdlib parser alone on the file; bound/s: results / (json.loads + cpu write),"
    )
    print("   the most an importer built on json.loads could reach")
    print(f"   {'format':<24} {'MB':>6} {'results':>8} {'read s':>7} {'write s':>8} {'wall/s':>9} "
          f"{'cpu read':>9} {'cpu write':>9} {'cpu/s':>9} {'json.loads':>10} {'bound/s':>9}  target")  # fmt: skip
    rng = random.Random(42)
    with tempfile.TemporaryDirectory() as tmp:
        for name, gen in GENERATORS.items():
            d = Path(tmp) / name
            d.mkdir()
            path = gen(d, n, rng)
            imp = ingest.get_importer(name)
            t0, c0 = time.perf_counter(), time.process_time()
            batch = imp.read(path)
            t1, c1 = time.perf_counter(), time.process_time()
            s = store.open(d / "store.duckdb")
            t2, c2 = time.perf_counter(), time.process_time()
            s.write(batch)
            t3, c3 = time.perf_counter(), time.process_time()
            n_results = batch.n_results
            wall = batch.n_results / ((t1 - t0) + (t3 - t2))
            cpu = batch.n_results / ((c1 - c0) + (c3 - c2))
            mb = path.stat().st_size / 1e6
            del batch
            gc.collect()
            parse = _json_loads_cpu(path)
            bound = n_results / (parse + (c3 - c2))
            print(f"   {name:<24} {mb:>6.1f} {n_results:>8,} {t1 - t0:>7.2f} {t3 - t2:>8.2f} {wall:>9,.0f} "
                  f"{c1 - c0:>9.2f} {c3 - c2:>9.2f} {cpu:>9,.0f} {parse:>10.2f} {bound:>9,.0f}  "
                  f"{'ok' if max(wall, cpu) >= TARGET else 'BELOW'}")  # fmt: skip


def _json_loads_cpu(path: Path) -> float:
    """CPU seconds ``json.loads`` takes on the file (``data.js``: on the JSON after the assignment)."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".js":
        text = text[text.index("{") :]
    gc.disable()
    try:
        c = time.process_time()
        doc = json.loads(text)
        spent = time.process_time() - c
    finally:
        gc.enable()
    del doc
    return spent


def whole_tree() -> None:
    print("\n== whole ../shared/data tree into a fresh store, twice")
    if not DATA.exists():
        print("   ../shared/data is absent; skipped")
        return
    with tempfile.TemporaryDirectory() as tmp:
        s = store.open(Path(tmp) / "tree.duckdb")
        for attempt in (1, 2):
            t = time.perf_counter()
            rep = s.ingest([DATA])
            dt = time.perf_counter() - t
            print(f"   pass {attempt}: {dt:6.1f} s  {rep.summary()}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=200_000, help="results per synthetic file")
    ap.add_argument("--skip-tree", action="store_true", help="leave out the whole-tree ingest")
    args = ap.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    real_data()
    throughput(args.n)
    if not args.skip_tree:
        whole_tree()
    return 0


if __name__ == "__main__":
    sys.exit(main())
