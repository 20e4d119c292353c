"""``auterity mine``: summary, discovery, conformance and performance of a local log, as
text and JSON, and one line with exit 2 for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from auterity_desktop.cli import main
from auterity_desktop.services.analytics.mining.petri import tree_to_petri_net, write_pnml
from auterity_desktop.services.analytics.mining.process_tree import parse_process_tree
from tests.cli.test_cli import run_cli

# Two cases follow receive -> inspect -> repair -> deliver; s3 inspects twice (rework) and
# s4 skips the inspection, so a model without the skip misses one case.
SERVICE_LOG = """ro_number;step;done_at
s1;receive;2026-03-02 08:00
s1;inspect;2026-03-02 09:00
s1;repair;2026-03-02 12:00
s1;deliver;2026-03-03 08:00
s2;receive;2026-03-02 08:30
s2;inspect;2026-03-02 10:30
s2;repair;2026-03-02 11:30
s2;deliver;2026-03-02 17:30
s3;receive;2026-03-03 08:00
s3;inspect;2026-03-03 09:00
s3;inspect;2026-03-03 10:00
s3;repair;2026-03-03 15:00
s3;deliver;2026-03-04 09:00
s4;receive;2026-03-04 08:00
s4;repair;2026-03-04 10:00
s4;deliver;2026-03-04 12:00
"""


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    path = tmp_path / "service.csv"
    path.write_text(SERVICE_LOG, encoding="utf-8")
    return path


@pytest.fixture
def model_file(tmp_path: Path) -> Path:
    tree = parse_process_tree("->('receive', *('inspect', tau), 'repair', 'deliver')")
    net, initial, final = tree_to_petri_net(tree)
    path = tmp_path / "service.pnml"
    write_pnml(net, initial, final, path)
    return path


def test_json_document_has_counts_model_fitness_and_times(
    log_file: Path, model_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["mine", str(log_file), "--discover", "dfg", "--conformance", str(model_file),
                 "--performance", "--json"])  # fmt: skip
    assert code == 0
    document = json.loads(capsys.readouterr().out)
    log = document["log"]
    assert (log["events"], log["cases"], log["variant_count"]) == (16, 4, 3)
    assert log["variants"][0] == {
        "activities": ["receive", "inspect", "repair", "deliver"],
        "count": 2,
    }
    edges = {(e["source"], e["target"]): e["count"] for e in document["discovery"]["dfg"]["edges"]}
    assert edges == {
        ("receive", "inspect"): 3, ("inspect", "repair"): 3, ("repair", "deliver"): 4,
        ("inspect", "inspect"): 1, ("receive", "repair"): 1,
    }  # fmt: skip
    assert sum(edges.values()) == 16 - 4  # events minus cases
    conformance = document["conformance"]
    assert conformance["unfit_cases"] == 1 and conformance["unfit_case_ids"] == ["s4"]
    assert conformance["percentage_of_fitting_traces"] == pytest.approx(75.0)
    assert 0.0 < conformance["fitness"] < 1.0
    assert conformance["deviating_edges"] == [{"source": "receive", "target": "repair", "count": 1}]
    performance = document["performance"]
    assert performance["case_durations"]["cases"] == 4
    assert performance["case_durations"]["max"] == pytest.approx(25 * 3600)  # s3
    assert "case_duration_values" not in performance
    assert performance["rework"] == {"inspect": 1}


def test_text_report_and_column_mapping(log_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mapping = ["--case", "ro_number", "--activity", "step", "--timestamp", "done_at"]
    code = main(["mine", str(log_file), "--discover", "inductive", "--performance", *mapping])
    assert code == 0
    out = capsys.readouterr().out
    assert "Log 'service': 16 events, 4 cases, 4 activities, 3 variants" in out
    assert "Discovery (inductive, noise 0):" in out and "'receive'" in out
    assert "Petri net:" in out and "Rework: inspect (1 cases)" in out


def test_bad_input_exits_2_with_one_line(tmp_path: Path, log_file: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    cases = [
        ([str(tmp_path / "missing.csv")], "NOT_FOUND"),
        ([str(empty)], "is empty"),
        ([str(tmp_path / "log.json")], "unknown file type"),
        ([str(log_file), "--case", "ro_number"], "go together"),
        ([str(log_file), "--case", "ro_number", "--activity", "nope", "--timestamp", "done_at"],
         "'nope'"),
        ([str(log_file), "--discover", "dfg", "--noise", "3"], "noise_threshold"),
    ]  # fmt: skip
    for args, expected in cases:
        result = run_cli("mine", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert expected in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
