"""The work loop every process of a study runs: stored confirmation runs, Ctrl-C, resume.

Training is replaced by seeded fake scores here (the real runs are tested in
test_search_confirm.py and test_search_processes.py), so these tests are about what the study
holds: which trials exist, in which state, and what a resumed run does again.
"""

from __future__ import annotations

import numpy as np
import optuna
import pandas as pd
import pytest

from advisor.errors import SearchInterrupted, StudyMismatchError
from advisor.records import LossId
from advisor.search import confirm, join_study, prepare
from advisor.search._storage import build_storage
from advisor.training import MemberResult

SECRET = "hunter2"


def _result(score: float) -> MemberResult:
    return MemberResult(
        score=score, best_step=1, steps=1, pruned=False, prediction=None, history=((1, score),)
    )


def _score(loss: LossId, seed: int) -> float:
    base = {LossId.MSE: 1.0, LossId.HUBER: 1.02}.get(loss, 1.5)
    return base + np.random.default_rng(seed).normal(scale=0.01)


@pytest.fixture
def fake_training(monkeypatch) -> dict[str, list]:
    """Every exploration batch and confirmation stack, recorded: (loss, seed) per member."""
    calls: dict[str, list] = {"explore": [], "confirm": []}

    def fit_short(members, data, **kwargs):
        calls["explore"].append([(m.loss, m.seed) for m in members])
        return [_result(_score(m.loss, m.seed)) for m in members]

    def fit_splits(members, datas, **kwargs):
        calls["confirm"].append([(m.loss, m.seed) for group in members for m in group])
        return [[_result(_score(m.loss, m.seed)) for m in group] for group in members]

    monkeypatch.setattr("advisor.search._explore.fit_short", fit_short)
    monkeypatch.setattr("advisor.search._work.fit_splits", fit_splits)
    return calls


@pytest.fixture(scope="module")
def data_file(tmp_path_factory) -> str:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = x @ np.array([1.0, -2.0, 0.5]) + rng.normal(scale=0.3, size=200)
    path = tmp_path_factory.mktemp("data") / "table.csv"
    pd.DataFrame(x, columns=["a", "b", "c"]).assign(y=y).to_csv(path, index=False)
    return str(path)


def _confirm(data_file: str, url: str | None, **kwargs):
    prepared = prepare(data_file, target="y")
    options = dict(budget_s=60.0, trials=6, seed=0, storage=url, study_name="w")
    options.update(kwargs)
    return confirm(prepared.frame, prepared.profile, prepared.listed, job=prepared.job, **options)


def _trials(url: str, phase: str | None = None) -> list[optuna.trial.FrozenTrial]:
    study = optuna.load_study(study_name="w", storage=build_storage(url))
    return [t for t in study.trials if phase is None or t.user_attrs.get("phase") == phase]


def test_confirmation_runs_are_stored_trials_and_a_resume_trains_none_again(
    data_file, tmp_path, fake_training
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    first, decision = _confirm(data_file, url)
    runs = _trials(url, "confirm")
    assert fake_training["confirm"] and len(runs) == sum(map(len, fake_training["confirm"]))
    for run in runs:  # each run says which finalist it is and on which paired split
        assert run.state == optuna.trial.TrialState.COMPLETE
        assert {"loss", "split", "params", "lr", "key"} <= set(run.user_attrs)
    by_loss = {r.loss: r for r in first.results}
    for run in runs:
        assert run.value in by_loss[LossId(run.user_attrs["loss"])].scores
    fake_training["explore"].clear()
    fake_training["confirm"].clear()
    again, same = _confirm(data_file, url, resume=True)
    assert fake_training == {"explore": [], "confirm": []}  # nothing trained twice
    assert again.results == first.results and same.chosen is decision.chosen
    assert len(_trials(url)) == len(runs) + 6


def test_ctrl_c_fails_the_trials_in_flight_and_says_how_to_resume(
    data_file, tmp_path, monkeypatch, fake_training
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("advisor.search._explore.fit_short", interrupted)
    with pytest.raises(SearchInterrupted, match="`resume=True`") as caught:
        _confirm(data_file, url)
    assert caught.value.exit_code == 130
    message = str(caught.value)
    assert "\n" not in message and "`study_name='w'`" in message
    trials = _trials(url)
    assert trials and not [t for t in trials if t.state.name in ("RUNNING",)]
    assert {t.state.name for t in trials if t.user_attrs.get("phase") == "explore"} >= {"FAIL"}
    monkeypatch.undo()


def test_ctrl_c_message_never_shows_a_password(data_file, tmp_path, monkeypatch) -> None:
    from advisor.search._confirm import interrupted_message

    message = interrupted_message(
        3, storage=f"postgresql://ann:{SECRET}@db/studies", study_name="w"
    )
    assert SECRET not in message and "postgresql://ann:***@db/studies" in message
    assert "in-memory" in interrupted_message(0, storage=None, study_name="w") or "--storage" in (
        interrupted_message(0, storage=None, study_name="w")
    )


def test_a_resumed_interrupted_study_finishes_with_nothing_running(
    data_file, tmp_path, monkeypatch, fake_training
) -> None:
    url = f"journal:{tmp_path / 'j.log'}"
    real = __import__("advisor.search._explore", fromlist=["fit_short"]).fit_short
    batches = []

    def once(members, data, **kwargs):  # the first batch trains, the second is interrupted
        batches.append(len(members))
        if len(batches) > 1:
            raise KeyboardInterrupt
        return real(members, data, **kwargs)

    monkeypatch.setattr("advisor.search._explore.fit_short", once)
    with pytest.raises(SearchInterrupted):
        _confirm(data_file, url, trials=12)
    finished = {t.number: t.value for t in _trials(url, "explore") if t.state.name == "COMPLETE"}
    assert len(finished) == batches[0]
    monkeypatch.setattr("advisor.search._explore.fit_short", real)
    search, _ = _confirm(data_file, url, trials=12, resume=True)
    trials = _trials(url)
    assert not [t for t in trials if t.state.name == "RUNNING"]
    for number, value in finished.items():  # kept as they were, not run again
        assert next(t for t in trials if t.number == number).value == value
    assert search.trials == 12


def test_a_worker_refuses_a_file_with_other_contents(data_file, tmp_path, fake_training) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    _confirm(data_file, url, trials=4)
    other = tmp_path / "other.csv"
    frame = pd.read_csv(data_file)
    frame.loc[0, "y"] += 1.0
    frame.to_csv(other, index=False)
    with pytest.raises(StudyMismatchError, match="another file than the study's data"):
        join_study(storage=url, study_name="w", budget_s=5, data=str(other))
    with pytest.raises(StudyMismatchError) as caught:
        join_study(storage=url, study_name="w", budget_s=5, data=str(other))
    assert caught.value.exit_code == 2 and "sha256:" in str(caught.value)


def test_a_worker_of_a_decided_study_has_nothing_left_to_do(
    data_file, tmp_path, fake_training
) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    _confirm(data_file, url, trials=4)
    fake_training["explore"].clear()
    fake_training["confirm"].clear()
    assert join_study(storage=url, study_name="w", budget_s=5) == 0
    assert fake_training == {"explore": [], "confirm": []}


def test_at_explorations_end_the_first_round_starts_for_the_losses_it_settled(
    data_file, tmp_path, fake_training
) -> None:
    """A process with nothing left to ask trains the first round of the losses no running
    exploration trial samples; the race then reuses those runs instead of training them."""
    import time

    from advisor.search._confirm import start_work, study_options
    from advisor.search._liveness import Beating
    from advisor.search._race import first_round
    from advisor.search._work import SearchPlan

    prepared = prepare(data_file, target="y")
    losses = [c.loss.value for c in prepared.listed.candidates]
    assert len(losses) >= 2
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = optuna.create_study(study_name="w", storage=build_storage(url))
    plan = SearchPlan(
        max_trials=1,
        repeats=3,
        explore_until=time.time() + 60,
        deadline=time.time() + 120,
        seed=0,
    )
    work = start_work(study, prepared.frame, prepared.profile, prepared.listed, plan=plan)
    study.sampler, study.pruner = study_options(prepared.listed, max_steps=10, seed=0)
    # another process's exploration trial, still running: its loss is not settled
    study.enqueue_trial({"loss": losses[0], "lr": 3e-3}, user_attrs={"phase": "explore"})
    running = study.ask()
    running.suggest_categorical("loss", losses)
    running.suggest_float("lr", 3e-4, 3e-2, log=True)
    running.set_user_attr("params", {})
    beating = Beating(study)
    try:
        assert work._confirm_early(beating)
    finally:
        beating.close()
    trained = {(loss, seed % 1000) for stack in fake_training["confirm"] for loss, seed in stack}
    settled = {LossId(loss) for loss in losses[1:]}
    assert trained == {(loss, split) for loss in settled for split in first_round(3)}
    # the race, once exploration is over, trains every other run and none of these again
    study.tell(running, 1.0)
    fake_training["confirm"].clear()
    work.run(stop_at=None)
    again = [(loss, seed % 1000) for stack in fake_training["confirm"] for loss, seed in stack]
    assert not set(again) & trained
    assert {(LossId(losses[0]), split) for split in first_round(3)} <= set(again)


def test_a_stacks_cost_is_stored_once_with_the_count_of_its_runs(
    data_file, tmp_path, fake_training
) -> None:
    """The race's pace (``_afford``) reads seconds per run; a stack stores it on one run."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    _confirm(data_file, url)
    runs = _trials(url, "confirm")
    costed = [r for r in runs if "cost_s" in r.user_attrs]
    assert len(costed) == len(fake_training["confirm"])
    assert sum(r.user_attrs["cost_runs"] for r in costed) == len(runs)


def test_a_step_reads_the_study_once_and_decides_from_that_reading(
    data_file, tmp_path, fake_training
) -> None:
    from advisor.search._confirm import start_work
    from advisor.search._work import PLAN_KEY, SearchPlan, Step

    url = f"sqlite:///{tmp_path / 's.db'}"
    _confirm(data_file, url)
    study = optuna.load_study(study_name="w", storage=build_storage(url))
    prepared = prepare(data_file, target="y")
    plan = SearchPlan.from_dict(study.user_attrs[PLAN_KEY])
    work = start_work(study, prepared.frame, prepared.profile, prepared.listed, plan=plan)
    reads: list[str] = []
    storage = study._storage
    for name in ("get_all_trials", "get_study_user_attrs", "get_trial"):
        method = getattr(storage, name)
        setattr(storage, name, lambda *a, _m=method, _n=name, **k: reads.append(_n) or _m(*a, **k))
    snapshot = work.read()
    assert sorted(reads) == ["get_all_trials", "get_study_user_attrs"]
    state = work.state(snapshot)
    assert len(reads) == 2  # the decision is replayed from the snapshot alone
    assert state.step is Step.DONE and state == work.state()


def test_a_process_with_nothing_to_take_encodes_the_first_rounds_splits(
    data_file, monkeypatch
) -> None:
    import time

    from advisor.search._confirm import start_work
    from advisor.search._race import first_round
    from advisor.search._splits import SplitMaker
    from advisor.search._work import SearchPlan, Step, WorkState

    prepared = prepare(data_file, target="y")
    plan = SearchPlan(
        max_trials=1, repeats=3, explore_until=time.time() + 60, deadline=time.time() + 120, seed=0
    )
    work = start_work(
        optuna.create_study(), prepared.frame, prepared.profile, prepared.listed, plan=plan
    )
    encoded: list[int] = []
    get = SplitMaker.get
    monkeypatch.setattr(SplitMaker, "get", lambda self, i: encoded.append(i) or get(self, i))
    waiting = WorkState(step=Step.WAIT, race=None, finalists={}, explored=1)
    while work._encode_ahead(waiting, "explore"):
        pass
    assert encoded == list(first_round(3))  # one per idle poll, then nothing left to do
    assert work.clock.total("train") > 0
