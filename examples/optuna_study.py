"""The rules' shortlist inside your own Optuna study: the loss as one more hyper-parameter.

AutoML code that already tunes a network with Optuna lets ``advisor.optuna.suggest_loss`` draw
the loss (only shortlisted ones, each with its own parameters) next to its other parameters.
Run:

    python examples/optuna_study.py [--trials N]
"""

from __future__ import annotations

import argparse

import numpy as np
import optuna
import torch
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import balanced_accuracy_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import advisor
from advisor.losses import build_context, build_loss, fit_target
from advisor.optuna import suggest_loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--epochs", type=int, default=60)
    args = parser.parse_args()

    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X, y, stratify=y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    x_train = torch.tensor(scaler.transform(X_train), dtype=torch.float32)
    x_val = torch.tensor(scaler.transform(X_val), dtype=torch.float32)

    profile = advisor.profile(X_train, y_train)
    listed = advisor.shortlist(profile)  # the rules' candidates and their evidence
    context = build_context(y_train, task=profile.task, n_classes=profile.n_classes)
    print("shortlist:", ", ".join(c.loss.value for c in listed.candidates))

    def objective(trial: optuna.Trial) -> float:
        loss_id, params = suggest_loss(trial, listed, profile=profile)
        lr = trial.suggest_float("lr", 1e-3, 3e-2, log=True)
        hidden = trial.suggest_int("hidden", 8, 64, log=True)
        criterion = build_loss(loss_id, params, context=context)
        target = torch.as_tensor(fit_target(loss_id, y_train, context=context).encode(y_train))
        torch.manual_seed(trial.number)
        model = torch.nn.Sequential(
            torch.nn.Linear(x_train.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)
        )
        optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
        for _ in range(args.epochs):
            optimizer.zero_grad()
            criterion(model(x_train), target).backward()
            optimizer.step()
        with torch.no_grad():
            predicted = (model(x_val)[:, 0] > 0).numpy().astype(int)
        return balanced_accuracy_score(y_val, predicted)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=args.trials)
    best = study.best_trial
    print(
        f"best: loss={best.params['loss']} balanced accuracy={best.value:.3f} "
        f"params={ {k: v for k, v in best.params.items() if k != 'loss'} }"
    )
    tried = sorted({t.params["loss"] for t in study.trials})
    print("losses tried:", ", ".join(tried))
    assert set(tried) <= {c.loss.value for c in listed.candidates}
    assert np.isfinite(best.value)


if __name__ == "__main__":
    main()
