"""A team's own loss: registered, named by a team rule, shortlisted and trained by the search.

A team forecasting demand pays more for over-forecasting (unsold stock) than for
under-forecasting. It writes that cost as a torch loss, registers it with its catalog entry
(``advisor.losses.register``), and names it in its own rule file
(``examples/custom_loss_rules.yaml``); lossadvisor then shortlists it beside the losses the
bundled rules pick, trains it in the confirmation and reports how it fared. The candidates
are judged on the team's cost, not on a symmetric error: ``objective="quantile:0.25"`` makes
the metric the pinball loss at 0.25, which charges over-forecasts three times as much (and
brings in the quantile loss, the textbook answer to that cost, as a rival). A team package
can declare the same entry under the ``lossadvisor.losses`` entry point group instead, so
that ``lossadvisor`` on the command line knows the loss too. Run:

    python examples/custom_loss.py [--budget SECONDS]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from sklearn.datasets import load_diabetes
from torch import nn

import advisor
from advisor.losses import register

RULES = Path(__file__).with_name("custom_loss_rules.yaml")


class AsymmetricSquaredError(nn.Module):
    """Squared error that costs ``over`` times more when the prediction is above the target."""

    def __init__(self, over: float = 2.0) -> None:
        super().__init__()
        self.over = over

    def forward(self, output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        error = output.squeeze(-1) - target  # head "score": one raw output per row
        return torch.where(error > 0, self.over * error**2, error**2).mean()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=20.0, help="seconds for the search")
    args = parser.parse_args()

    loss = register(
        "asymmetric",
        AsymmetricSquaredError,
        tasks=["regression", "regression_positive", "regression_count"],
        head="score",
        target="standardize",
        summary="Squared error that costs `over` times more above the target than below.",
        simplicity=3,
        params=[{"name": "over", "default": 2.0, "low": 1.0, "high": 5.0, "log": True}],
    )
    X, y = load_diabetes(return_X_y=True, as_frame=True)

    listed = advisor.shortlist(X, y, rules=[RULES], objective="quantile:0.25")
    print("shortlist:", ", ".join(candidate.loss.value for candidate in listed.candidates))
    ours = next(candidate for candidate in listed.candidates if candidate.loss is loss)
    print(f"{loss.value} starts with {ours.params}, because:")
    for reason in ours.reasons:
        print(f"  [{reason.rule}] {reason.text}")

    advice = advisor.recommend(
        X, y, rules=[RULES], objective="quantile:0.25", budget_s=args.budget, seed=0
    )
    search = advice.search
    print(f"\ntrained ({search.metric.value}, {search.direction}, mean over splits):")
    for result in search.results:
        print(f"  {result.loss.value:<12} {result.mean:8.2f} over {result.n} splits")
    print()
    print(advice.explain())


if __name__ == "__main__":
    main()
