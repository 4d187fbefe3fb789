"""The store commands, run through benchlab.cli.main as a user would."""

import json

import pytest

from benchlab.cli import cli, main


@pytest.fixture
def files(tmp_path):
    good = tmp_path / "good.jsonl"
    good.write_text(
        "\n".join(
            json.dumps(
                {
                    "benchmark": "b",
                    "model": "m",
                    "hardware": "cpu",
                    "metric": "latency",
                    "value": v,
                    "unit": "ms",
                    "commit": f"c{i}",
                }
            )  # fmt: skip
            for i, v in enumerate([5.0, 5.1, 7.0])
        )
        + "\n"
    )
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"benchmark": "b", "metric": "latency", "value": "x", "unit": "ms"}\n')
    return good, bad


def test_every_command_has_help(capsys):
    for name in cli.commands:
        assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage: benchlab ingest" in out and "Usage: benchlab check" in out


def test_ingest_reports_and_exits_nonzero_on_a_bad_source(files, tmp_path, capsys):
    good, bad = files
    db = str(tmp_path / "s.duckdb")
    assert main(["ingest", str(good), str(bad), "--store", db]) == 1
    captured = capsys.readouterr()
    assert f"{bad}: line 1: value must be a number" in captured.err
    assert "1 added (3 results)" in captured.out
    assert "Traceback" not in captured.err
    assert main(["ingest", str(good), "--store", db, "--json"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["ok"] and payload["sources"][0]["status"] == "skipped"


def test_query_and_maintenance_commands(files, tmp_path, capsys):
    good, _ = files
    db = str(tmp_path / "s.duckdb")
    main(["ingest", str(good), "--store", db])
    capsys.readouterr()
    assert main(["results", "--store", db, "--latest", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["value"] == 7.0
    assert main(["compare", "c0", "c2", "--store", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["ratio"] == pytest.approx(1.4)
    assert main(["check", "--store", db]) == 0
    assert "no integrity problems" in capsys.readouterr().out
    assert main(["stats", "--store", db, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["results"] == 3
    assert (
        main(["sql", "SELECT count(*) AS n FROM results WHERE value > ?", "--param", "5.05", "--store", db, "--json"])
        == 0
    )
    assert json.loads(capsys.readouterr().out) == [{"n": 2}]
    bk = tmp_path / "bk.duckdb"
    assert main(["backup", str(bk), "--store", db]) == 0
    assert main(["restore", str(bk), "--yes", "--store", db]) == 0
    assert main(["export", str(tmp_path / "x.csv"), "--format", "csv", "--store", db]) == 0
    assert (tmp_path / "x.csv").read_text().count("\n") == 4
    assert main(["optimize", "--store", db]) == 0


def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys):
    db = str(tmp_path / "s.duckdb")
    assert main(["sql", "SELEC nonsense", "--store", db]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: SQL failed") and "Traceback" not in err
    assert main(["ingest", str(tmp_path / "x.json"), "--format", "nope", "--store", db]) == 1
    assert "unknown format 'nope'" in capsys.readouterr().err
