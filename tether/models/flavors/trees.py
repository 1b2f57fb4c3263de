"""A NumPy-only predictor for scikit-learn decision trees and random forests, so that loading
one and predicting imports neither scikit-learn nor skops (a served RandomForest was ready in
2.3-2.5 s with 245 MB, most of it importing scikit-learn, SciPy and pandas).

At save time ``describe`` reads a supported estimator (an exact scikit-learn class with one
output: ``DecisionTree``, ``RandomForest`` or ``ExtraTrees``, classifier or regressor) into the
arrays of all its trees, laid end to end: children, split feature and threshold, where a
missing value goes, and each node's value. ``verified_predictor`` then runs the estimator and
the NumPy predictor on the sample, on rows drawn within its range and on those rows with missing
values, and keeps the predictor only if ``predict`` answers the same values with the same dtype,
``predict_proba`` agrees within 1e-12 relative, and both refuse the same inputs. The arrays are
stored as ``trees.npz`` (read back with ``allow_pickle=False``), listed in the manifest with its
digest like any other file.

The predictor walks every tree at once, one level per step, over the rows and trees still
inside the trees, so a batch costs a few NumPy calls per level of the deepest tree: fast for
the batches a server sees, slower than scikit-learn's compiled walk on batches of many
thousands of rows (``LoadedModel.model`` still gives the estimator).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tether.models.flavors.linear import (
    RTOL,
    NotDescribable,
    _exact,
    _module_is,
    check_rows,
    classes_rule,
    read_arrays,
    save_checked,
    stored_classes,
)

log = logging.getLogger("tether.models")

FILE = "trees.npz"
FORMAT = 1

SINGLE = {"DecisionTreeClassifier": "sklearn.tree", "DecisionTreeRegressor": "sklearn.tree"}
FORESTS = {
    "RandomForestClassifier": "sklearn.ensemble",
    "RandomForestRegressor": "sklearn.ensemble",
    "ExtraTreesClassifier": "sklearn.ensemble",
    "ExtraTreesRegressor": "sklearn.ensemble",
}
ARRAYS = ("roots", "left", "right", "feature", "threshold", "missing_left", "value", "classes")


class TreePredictor:
    """``predict`` (and ``predict_proba``, ``classes_`` for a classifier) of a tree or a forest,
    computed with NumPy the way scikit-learn computes it: inputs as float32, a split sends a
    row left when its value is at most the threshold (a missing value where the tree says),
    a classifier's probabilities are each leaf's class weights over their sum, averaged over
    the trees in their order."""

    def __init__(
        self,
        arrays: Mapping[str, Any],
        *,
        n_features: int,
        forest: bool,
        allow_nan: bool,
        estimator: str = "",
    ) -> None:
        import numpy as np

        self.roots = np.asarray(arrays["roots"], dtype=np.int64)
        self.left = np.asarray(arrays["left"], dtype=np.int64)
        self.right = np.asarray(arrays["right"], dtype=np.int64)
        self.feature = np.asarray(arrays["feature"], dtype=np.int64)
        self.threshold = np.asarray(arrays["threshold"], dtype=np.float64)
        self.missing_left = np.asarray(arrays["missing_left"], dtype=bool)
        self.value = np.asarray(arrays["value"], dtype=np.float64)
        classes = arrays.get("classes")
        self.classes = None if classes is None else np.asarray(classes)
        self.n_features = int(n_features)
        self.forest = bool(forest)
        self.allow_nan = bool(allow_nan)
        self.estimator = estimator
        nodes = len(self.left)
        if not (
            len(self.right) == len(self.feature) == len(self.threshold) == nodes
            and len(self.missing_left) == nodes
            and len(self.value) == nodes
            and len(self.roots) >= 1
            and (self.forest or len(self.roots) == 1)
        ):
            raise ValueError("the tree arrays do not have one entry per node")
        inner = self.left >= 0
        links = np.concatenate([self.left[inner], self.right[inner], self.roots])
        if links.size and (links.min() < 0 or links.max() >= nodes):
            raise ValueError("a child or root index is outside the nodes")
        if inner.any() and (
            self.feature[inner].min() < 0 or self.feature[inner].max() >= self.n_features
        ):
            raise ValueError(f"a split feature is outside the {self.n_features} features")
        if self.classes is not None and (
            self.value.ndim != 2 or self.value.shape[1] != len(self.classes)
        ):
            raise ValueError(f"the node values do not have {len(self.classes)} classes")
        if self.classes is None and self.value.ndim != 1:
            raise ValueError("a regressor's node values must be one number per node")
        self._depth = _depth(self.left, self.right, self.roots)

    def __getattr__(self, name: str) -> Any:
        d = self.__dict__
        if name in ("predict_proba", "classes_") and d.get("classes") is not None:
            return self._predict_proba if name == "predict_proba" else d["classes"]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _input(self, inputs: Any) -> Any:
        import numpy as np

        x = np.asarray(inputs)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(
                f"expected a 2-D array with {self.n_features} features, got shape {x.shape}"
            )
        if x.dtype.kind not in "biuf" and x.dtype != object:
            raise ValueError(f"expected numbers, got dtype {x.dtype}")
        x = x.astype(np.float32)  # scikit-learn's trees split float32 values
        if not np.isfinite(x).all() and (np.isinf(x).any() or not self.allow_nan):
            raise ValueError("Input X contains NaN or infinity.")
        return x

    def leaves(self, inputs: Any) -> Any:
        """The leaf each row reaches in each tree: an array of rows x trees node indices."""
        import numpy as np

        x = self._input(inputs)
        n, t = x.shape[0], len(self.roots)
        node = np.broadcast_to(self.roots, (n, t)).reshape(-1).copy()
        row = np.repeat(np.arange(n), t)
        active = np.flatnonzero(self.left[node] >= 0)
        for _ in range(self._depth):
            if not active.size:
                break
            at = node[active]
            value = x[row[active], self.feature[at]]
            go_left = value <= self.threshold[at]
            if self.allow_nan:
                missing = np.isnan(value)
                if missing.any():
                    go_left = np.where(missing, self.missing_left[at], go_left)
            nxt = np.where(go_left, self.left[at], self.right[at])
            node[active] = nxt
            active = active[self.left[nxt] >= 0]
        return node.reshape(n, t)

    def _values(self, inputs: Any) -> Any:
        """Per row: a tree's leaf value, or a forest's mean of them summed in tree order."""
        leaves = self.leaves(inputs)
        total = self.value[leaves[:, 0]].copy()
        for k in range(1, leaves.shape[1]):
            total += self.value[leaves[:, k]]
        if self.forest:
            total /= leaves.shape[1]
        return total

    def predict(self, inputs: Any) -> Any:
        import numpy as np

        values = self._values(inputs)
        if self.classes is None:
            return values
        return self.classes.take(np.argmax(values, axis=1), axis=0)

    def _predict_proba(self, inputs: Any) -> Any:
        values = self._values(inputs)
        if self.forest:  # each tree's leaf weights were divided by their sum when saved
            return values
        total = values.sum(axis=1)[:, None]  # a single tree divides at predict time
        total[total == 0.0] = 1.0
        values /= total
        return values

    def arrays(self) -> dict[str, Any]:
        out = {
            "roots": self.roots, "left": self.left, "right": self.right,
            "feature": self.feature, "threshold": self.threshold,
            "missing_left": self.missing_left, "value": self.value,
        }  # fmt: skip
        return {**out, **stored_classes(self.classes)}

    def rule(self) -> dict[str, Any]:
        return {
            "file": FILE,
            "format": FORMAT,
            "estimator": self.estimator,
            **classes_rule(self.classes),
            "n_features": self.n_features,
            "forest": self.forest,
            "allow_nan": self.allow_nan,
        }


def _depth(left: Any, right: Any, roots: Any) -> int:
    """The number of splits on the longest path from a root to a leaf."""
    import numpy as np

    depth, level = 0, np.asarray(roots)
    while True:
        inner = level[left[level] >= 0]
        if not inner.size:
            return depth
        level = np.concatenate([left[inner], right[inner]])
        depth += 1


def read_predictor(path: Path, rule: Mapping[str, Any]) -> TreePredictor:
    """The predictor ``save_predictor`` wrote (the file already checked against its digest)."""
    arrays = read_arrays(
        path,
        rule,
        what="tree",
        format=FORMAT,
        allowed=set(ARRAYS),
        required=set(ARRAYS) - {"classes"},
    )
    return TreePredictor(
        arrays,
        n_features=int(rule.get("n_features", 0)),
        forest=bool(rule.get("forest")),
        allow_nan=bool(rule.get("allow_nan")),
        estimator=str(rule.get("estimator", "")),
    )


def save_predictor(model: Any, folder: Path, sample: Any) -> dict[str, Any] | None:
    """Write ``trees.npz`` for ``model`` and return its rule, or ``None`` (and write nothing)
    where the model is not supported or the check against the estimator fails."""
    return save_checked(verified_predictor, model, folder / FILE, sample)


def verified_predictor(model: Any, sample: Any) -> TreePredictor:
    """The predictor for ``model``, checked against it on the sample and generated rows."""
    import warnings

    import numpy as np

    rows = check_rows(model, sample)
    with warnings.catch_warnings():  # the estimator's own warnings were shown at save
        warnings.simplefilter("ignore")
        holed = _with_missing(np.asarray(rows[-1], dtype=np.float64))
        allow_nan = _answers(model, holed)
        predictor = describe(model, allow_nan=allow_nan)
        why = _differs(model, predictor, rows + ([holed] if allow_nan else []))
    if why is not None:
        raise NotDescribable(why)
    if not allow_nan:
        try:
            predictor.predict(holed)
        except ValueError:
            return predictor
        raise NotDescribable("the predictor takes missing values the estimator refuses")
    return predictor


def _with_missing(rows: Any) -> Any:
    import numpy as np

    holed = rows.copy()
    holed[np.arange(len(holed)), np.arange(len(holed)) % holed.shape[1]] = np.nan
    return holed


def _answers(model: Any, x: Any) -> bool:
    try:
        model.predict(x)
    except ValueError:
        return False
    return True


def describe(model: Any, *, allow_nan: bool = False) -> TreePredictor:
    """The predictor of ``model`` (one output, an exact supported scikit-learn class)."""
    import numpy as np

    name = _exact(model)
    package = SINGLE.get(name) or FORESTS.get(name)
    if package is None or not _module_is(model, package):
        raise NotDescribable(f"{type(model).__module__}.{name} is not a supported tree model")
    if getattr(model, "n_outputs_", 1) != 1:
        raise NotDescribable("more than one output")
    trees = [model] if name in SINGLE else list(model.estimators_)
    if not trees:
        raise NotDescribable("a forest without trees")
    classifier = name.endswith("Classifier")
    parts: dict[str, list[Any]] = {k: [] for k in ARRAYS if k != "classes"}
    offset = 0
    for est in trees:
        tree = est.tree_
        left = np.asarray(tree.children_left, dtype=np.int64)
        right = np.asarray(tree.children_right, dtype=np.int64)
        leaf = left < 0
        parts["roots"].append(offset)
        parts["left"].append(np.where(leaf, -1, left + offset))
        parts["right"].append(np.where(leaf, -1, right + offset))
        parts["feature"].append(np.where(leaf, 0, tree.feature).astype(np.int64))
        parts["threshold"].append(np.asarray(tree.threshold, dtype=np.float64))
        missing = getattr(tree, "missing_go_to_left", None)
        parts["missing_left"].append(
            np.zeros(len(left), bool) if missing is None else np.asarray(missing, dtype=bool)
        )
        value = np.ascontiguousarray(np.asarray(tree.value, dtype=np.float64)[:, 0, :])
        if classifier and name in FORESTS:  # each tree's predict_proba, as the forest adds
            total = value.sum(axis=1)[:, None]  # them up (a lone tree's predict takes the
            total[total == 0.0] = 1.0  # argmax of the weights themselves)
            value = value / total
        elif not classifier:
            value = value[:, 0]
        parts["value"].append(value)
        offset += len(left)
    arrays: dict[str, Any] = {k: np.concatenate([np.atleast_1d(p) for p in v])
                              for k, v in parts.items()}  # fmt: skip
    arrays["roots"] = np.asarray(parts["roots"], dtype=np.int64)
    if classifier:
        classes = np.asarray(model.classes_)
        if classes.dtype == object and not all(isinstance(c, str) for c in classes):
            raise NotDescribable("its classes are not all strings or all numbers")
        if classes.dtype.kind not in "biufUO":
            raise NotDescribable(f"its classes have dtype {classes.dtype}")
        arrays["classes"] = classes
    return TreePredictor(
        arrays,
        n_features=int(model.n_features_in_),
        forest=name in FORESTS,
        allow_nan=allow_nan,
        estimator=f"{type(model).__module__}.{name}",
    )


def _differs(model: Any, predictor: TreePredictor, rows: list[Any]) -> str | None:
    """Why ``predictor`` does not answer as ``model`` does on ``rows`` (``None``: it does)."""
    import numpy as np

    for x in rows:
        want, got = np.asarray(model.predict(x)), predictor.predict(x)
        if want.dtype != got.dtype or want.shape != got.shape or not np.array_equal(want, got):
            return "predict differs"
        if predictor.classes is None:
            continue
        want_p, got_p = np.asarray(model.predict_proba(x)), predictor.predict_proba(x)
        close = np.abs(want_p - got_p) <= RTOL * np.abs(want_p)
        if want_p.shape != got_p.shape or not close.all():
            return f"predict_proba differs by more than {RTOL} relative"
    return None
