"""Issue 17's side-by-side table comes from results stored in the repository, in one command."""

from __future__ import annotations

from calibration_scripts import load as _load


def test_the_summary_prints_every_row_from_the_stored_results(capsys):
    summary = _load("summary")
    assert summary.main([]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ")]
    rows = lines[1:]  # below the header (the |---| line does not start with "| ")
    assert len(rows) == 10
    corpus = [r for r in rows if r.startswith("| corpus")]
    shared = [r for r in rows if r.startswith("| ../shared/datasets")]
    assert len(corpus) == 5 and len(shared) == 5
    # the corpus's full-search rows are evaluate_search's scoring of the same stored picks
    search = _load("evaluate_search")
    fp = _load("fit_priors")
    tables = fp.load_tables(fp.DEFAULT_REFERENCE)
    import json

    cache = json.loads((summary.STORED / "search_corpus.json").read_text())
    top, listed, wtl, _ = search.search_outcome(
        tables, cache, "fitted", reference=fp.DEFAULT_REFERENCE, seed=0, budget=60.0
    )
    fitted = next(r for r in corpus if "| full search | fitted |" in r)
    assert f"| {min(top.max(), fp.REGRET_CAP):.2%} | {listed.mean():.0%} | {wtl} |" in fitted


def test_a_missing_store_is_one_line_and_exit_2(tmp_path, capsys):
    summary = _load("summary")
    assert summary.main(["--search", str(tmp_path / "none.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none.json is missing" in err[0]
