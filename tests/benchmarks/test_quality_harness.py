"""The quality benchmark's --quick mode runs end to end on a tiny folder, so it cannot rot."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[2]


def _load_quality():
    spec = importlib.util.spec_from_file_location("quality", ROOT / "benchmarks" / "quality.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _folder(tmp_path: Path) -> Path:
    iris = load_iris(as_frame=True)
    frame = iris.frame.rename(columns={"target": "species"})
    train, test = train_test_split(frame, test_size=0.25, random_state=0, stratify=frame["species"])
    (tmp_path / "iris").mkdir(parents=True)
    train.to_csv(tmp_path / "iris" / "train.csv", index=False)
    test.to_csv(tmp_path / "iris" / "test.csv", index=False)
    manifest = {
        "datasets": [
            {
                "name": "iris",
                "files": {"train": "iris/train.csv", "test": "iris/test.csv"},
                "target": ["species"],
                "task": "multiclass",
                "primary_metric": "accuracy",
                "n_rows_train": len(train),
            }
        ]
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    return tmp_path


@pytest.mark.slow
def test_quick_run_prints_summary_and_resumes(tmp_path, capsys):
    quality = _load_quality()
    folder = _folder(tmp_path / "data")
    out = tmp_path / "results"
    quality.main(["--data", str(folder), "--out", str(out), "--quick", "--budget", "3"])
    printed = capsys.readouterr().out
    assert "| iris | accuracy |" in printed
    assert "| lossadvisor |" in printed and "| plain_automl |" in printed
    cached = json.loads((out / "iris-quick.json").read_text())
    assert set(cached) == {"exhaustive", "lossadvisor", "rules_only", "plain_automl"}
    assert cached["exhaustive"]["best"] in cached["exhaustive"]["losses"]
    # a second run reuses every cached step: nothing is trained again
    before = (out / "iris-quick.json").stat().st_mtime_ns
    quality.main(["--data", str(folder), "--out", str(out), "--quick", "--budget", "3"])
    assert (out / "iris-quick.json").stat().st_mtime_ns == before
    # more seeds of lossadvisor's own: only the new seed is run, then its table is printed
    capsys.readouterr()
    args = ["--data", str(folder), "--out", str(out), "--quick", "--budget", "3"]
    quality.main([*args, "--advisor-seeds", "2"])
    printed = capsys.readouterr().out
    assert "## lossadvisor over 2 seeds of its own" in printed
    assert "| iris | " in printed.split("seeds of its own")[1]
    cached = json.loads((out / "iris-quick.json").read_text())
    assert set(cached["lossadvisor_seeds"]) == {"1"}
    with pytest.raises(SystemExit):
        quality.main([*args, "--advisor-seeds", "0"])


def test_regret_and_paired_verdicts():
    quality = _load_quality()
    assert quality.regret(0.9, 1.0, maximize=True) == pytest.approx(0.1)
    assert quality.regret(1.1, 1.0, maximize=False) == pytest.approx(0.1)
    assert quality.regret(1.2, 1.0, maximize=True) == 0.0
    assert quality.paired([0.9, 0.91, 0.92], [0.8, 0.8, 0.81], maximize=True) == "win"
    assert quality.paired([0.8, 0.8, 0.81], [0.9, 0.91, 0.92], maximize=True) == "loss"
    assert quality.paired([0.9, 0.8, 0.85], [0.85, 0.82, 0.86], maximize=True) == "tie"


def test_missing_manifest_is_a_clear_exit(tmp_path):
    quality = _load_quality()
    with pytest.raises(SystemExit, match="no manifest.json"):
        quality.main(["--data", str(tmp_path)])
