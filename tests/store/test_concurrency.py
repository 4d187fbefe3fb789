"""Two processes, one store file: waits, clear lock errors, and crash atomicity."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import benchlab
from benchlab.errors import StoreLockedError


def _hold_lock(path, seconds):
    code = textwrap.dedent(f"""
        import duckdb, sys, time
        con = duckdb.connect({str(path)!r})
        print("LOCKED", flush=True)
        time.sleep({seconds})
        con.close()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "LOCKED"
    return proc


def test_reader_waits_for_a_short_writer(tmp_path, monkeypatch):
    store = benchlab.open(tmp_path / "s.duckdb")
    proc = _hold_lock(store.path, 1.0)
    try:
        start = time.monotonic()
        assert store.results().height == 0  # waited, did not die
        assert time.monotonic() - start >= 0.3
    finally:
        proc.wait(timeout=10)


def test_lock_held_too_long_names_the_holder(tmp_path, monkeypatch):
    store = benchlab.open(tmp_path / "s.duckdb")
    monkeypatch.setenv("BENCHLAB_LOCK_TIMEOUT", "0.5")
    proc = _hold_lock(store.path, 5)
    try:
        with pytest.raises(StoreLockedError, match=rf"process {proc.pid}.*try again"):
            store.results()
    finally:
        proc.kill()
        proc.wait()


def test_sigkill_mid_ingest_leaves_nothing_half_written(tmp_path):
    path = tmp_path / "s.duckdb"
    src = tmp_path / "big.jsonl"
    with open(src, "w") as fh:
        for i in range(20000):
            fh.write(json.dumps({"benchmark": f"b{i % 50}", "metric": "latency", "value": i % 97 + 1,
                                 "unit": "ms", "commit": f"c{i // 50}"}) + "\n")  # fmt: skip
    benchlab.open(path)
    # The child pauses inside the write transaction, after the rows are inserted
    # and before COMMIT, so the kill lands exactly mid-ingest.
    code = textwrap.dedent(f"""
        import os, sys, time
        import benchlab.store as st
        real = st._write_batch
        def slow(con, batch):
            out = real(con, batch)
            print("INSIDE", flush=True)
            time.sleep(60)
            return out
        st._write_batch = slow
        st.open({str(path)!r}).ingest([{str(src)!r}])
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "INSIDE"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = benchlab.open(path)
    assert store.stats()["results"] == 0 and store.stats()["sources"] == 0
    report = store.ingest(src)
    assert report.ok and report.n_results == 20000
    assert store.check().is_empty()
    assert store.ingest(src).count("skipped") == 1 and store.stats()["results"] == 20000
