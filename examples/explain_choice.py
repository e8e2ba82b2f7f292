"""Explain the choice for a report: the recommendation, the evidence behind it, and the code.

A team keeps the reason for its loss next to its model. ``advice.explain()`` gives it as text;
``advice.to_dict()`` as the JSON document other tools read. Then the advice trains a network
directly: ``build_loss()``, ``encode_target(y)``, ``output_activation``, ``decode_output``.
Run:

    python examples/explain_choice.py [--budget SECONDS]
"""

from __future__ import annotations

import argparse
import json

import torch
from sklearn.datasets import load_wine
from sklearn.preprocessing import StandardScaler

import advisor
from advisor.losses import output_size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=20.0, help="seconds for the search")
    parser.add_argument("--epochs", type=int, default=200)
    args = parser.parse_args()

    X, y = load_wine(return_X_y=True, as_frame=True)
    y = y.map({0: "barolo", 1: "grignolino", 2: "barbera"}).rename("cultivar")
    advice = advisor.recommend(X, y, budget_s=args.budget, seed=0)
    print(advice.explain())

    document = advice.to_dict()
    print("\nJSON keys:", ", ".join(document))
    json.dumps(document)  # the document is plain JSON

    # train a network with the advice and predict in the original labels
    x = torch.tensor(StandardScaler().fit_transform(X), dtype=torch.float32)
    target = advice.encode_target(y)
    criterion = advice.build_loss()
    torch.manual_seed(0)
    n_outputs = output_size(advice.recommendation.loss, advice.profile.n_classes)
    model = torch.nn.Sequential(
        torch.nn.Linear(x.shape[1], 32), torch.nn.ReLU(), torch.nn.Linear(32, n_outputs)
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(args.epochs):
        optimizer.zero_grad()
        criterion(model(x), target).backward()
        optimizer.step()
    with torch.no_grad():
        predicted = advice.decode_output(model(x))
    accuracy = float((predicted == y.to_numpy()).mean())
    print(f"\noutput activation at prediction time: {advice.output_activation.value}")
    print(f"training accuracy with the advised loss: {accuracy:.3f}")


if __name__ == "__main__":
    main()
