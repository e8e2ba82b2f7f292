"""The advised loss inside scikit-learn: a Pipeline tuned by GridSearchCV.

``AdvisedMLPClassifier`` asks the advisor for a loss when ``loss=None`` and trains an MLP with
it; a given loss id (and ``loss_params``) is an ordinary hyper-parameter, so the grid below
compares the advice with plain cross-entropy and label smoothing on the same folds. Run:

    python examples/sklearn_pipeline.py [--budget SECONDS] [--steps N]

``--budget`` is each advisor call's search budget (0: rules only, no short runs).
"""

from __future__ import annotations

import argparse

from sklearn.datasets import load_wine
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from advisor.sklearn import AdvisedMLPClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=5.0, help="advisor seconds per fit")
    parser.add_argument("--steps", type=int, default=400, help="training steps per fit")
    args = parser.parse_args()

    X, y = load_wine(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0, stratify=y)
    pipeline = Pipeline(
        [
            ("scale", StandardScaler()),
            (
                "mlp",
                AdvisedMLPClassifier(
                    search=args.budget > 0,
                    budget_s=max(args.budget, 1.0),
                    max_steps=args.steps,
                    random_state=0,
                ),
            ),
        ]
    )
    grid = GridSearchCV(
        pipeline,
        {
            "mlp__loss": [None, "ce", "ce_label_smoothing"],  # None: ask the advisor
            "mlp__hidden": [32, 64],
        },
        cv=3,
    )
    grid.fit(X_train, y_train)

    print(f"best parameters: {grid.best_params_}")
    print(f"cross-validated accuracy: {grid.best_score_:.3f}")
    for params, score in zip(
        grid.cv_results_["params"], grid.cv_results_["mean_test_score"], strict=True
    ):
        loss = params["mlp__loss"] or "advised"
        print(f"  loss={loss:<20} hidden={params['mlp__hidden']:<3} cv accuracy {score:.3f}")
    mlp = grid.best_estimator_.named_steps["mlp"]
    params = f" {mlp.loss_params_}" if mlp.loss_params_ else ""
    print(f"trained with: {mlp.loss_}{params}, learning rate {mlp.lr_:.2g}")
    baseline = DummyClassifier().fit(X_train, y_train).score(X_test, y_test)
    print(f"test accuracy: {grid.score(X_test, y_test):.3f} (constant baseline {baseline:.3f})")

    advised = grid.best_estimator_ if mlp.advice_ is not None else None
    if advised is None:  # show what the advisor said on these rows anyway
        advised = Pipeline(pipeline.steps).set_params(mlp__loss=None).fit(X_train, y_train)
    advice = advised.named_steps["mlp"].advice_
    print("the advisor's answer on the training rows:")
    print(
        f"  {advice.recommendation.loss.value}, confidence {advice.recommendation.confidence:.2f}"
    )
    print(f"  output activation at prediction time: {advice.output_activation.value}")


if __name__ == "__main__":
    main()
