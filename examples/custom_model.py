"""Your own network in the confirmation: a residual MLP with batch norm and dropout.

The advisor's short runs train whatever ``factory(n_inputs, n_outputs)`` builds, so the losses
are compared on the network you will actually train. Run:

    python examples/custom_model.py [--budget SECONDS]
"""

from __future__ import annotations

import argparse

import torch
from sklearn.datasets import load_diabetes
from torch import nn

import advisor


class ResidualMLP(nn.Module):
    """A small residual block: Linear -> BatchNorm -> ReLU -> Dropout -> Linear, plus a skip."""

    def __init__(self, n_inputs: int, n_outputs: int, hidden: int = 32) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.Linear(n_inputs, hidden),
            nn.BatchNorm1d(hidden),
            nn.ReLU(),
            nn.Dropout(0.1),
            nn.Linear(hidden, n_outputs),
        )
        self.skip = nn.Linear(n_inputs, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.block(x) + self.skip(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=30.0, help="seconds for the search")
    args = parser.parse_args()

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    advice = advisor.recommend(X, y, budget_s=args.budget, seed=0, factory=ResidualMLP)
    print(
        f"recommended loss: {advice.recommendation.loss.value} "
        f"(confidence {advice.recommendation.confidence:.2f})"
    )
    for result in advice.search.results:
        print(
            f"  {result.loss.value:<10} {advice.search.metric.value} {result.mean:.2f} "
            f"over {result.n} splits"
        )


if __name__ == "__main__":
    main()
