"""A NumPy-only predictor for scikit-learn linear models, so that loading one and predicting
imports neither scikit-learn nor skops (nor SciPy and pandas, which they pull in).

At save time ``describe`` reads a supported estimator (an exact scikit-learn class, not a
subclass that could change ``predict``; optionally behind a ``StandardScaler`` in a two-step
``Pipeline``) into a few arrays and a rule: the coefficients, intercepts, classes, scaler mean and
scale, and how scores become probabilities. ``verified_predictor`` then runs the estimator and the
NumPy predictor on the sample and on rows drawn within the sample's range, and keeps the predictor
only if ``predict`` answers the same values with the same dtype and ``predict_proba`` agrees
within 1e-12 relative. The arrays are stored as ``linear.npz`` (read back with
``allow_pickle=False``), a file the manifest lists and digests like any other; the rule is in the
manifest's options.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("tether.models")

FILE = "linear.npz"
FORMAT = 1
RTOL = 1e-12
GENERATED_ROWS = 64

# exact classes, by name and scikit-learn package: a subclass may override predict, so it is
# not read
CLASSIFIERS = {"LogisticRegression", "LinearSVC", "SGDClassifier"}
REGRESSORS = {"LinearRegression", "Ridge", "Lasso", "ElasticNet", "SGDRegressor", "LinearSVR"}
PACKAGE = {"LinearSVC": "sklearn.svm", "LinearSVR": "sklearn.svm"}  # else sklearn.linear_model
PROBA_RULES = ("expit", "ovr", "softmax", "softmax2")


class NotDescribable(Exception):
    """Why an estimator has no NumPy predictor (said in the debug log, never raised out)."""


class LinearPredictor:
    """``predict`` (and ``predict_proba``, ``classes_`` for a classifier) of a linear model,
    computed with NumPy the way scikit-learn computes it."""

    def __init__(
        self,
        coef: Any,
        intercept: Any,
        *,
        classes: Any = None,
        proba: str | None = None,
        mean: Any = None,
        scale: Any = None,
        estimator: str = "",
    ) -> None:
        import numpy as np

        coef, intercept = np.asarray(coef), np.asarray(intercept)
        if coef.dtype.kind != "f" or coef.ndim not in (1, 2) or intercept.dtype.kind != "f":
            raise ValueError("coef and intercept must be float arrays, coef of 1 or 2 dimensions")
        n_out = 1 if coef.ndim == 1 else coef.shape[0]
        if intercept.size not in (1, n_out) or intercept.ndim > 1:
            raise ValueError(f"intercept has shape {intercept.shape} for {n_out} output(s)")
        self.n_features = int(coef.shape[-1])
        for name, v in (("mean", mean), ("scale", scale)):
            if v is not None and (np.asarray(v).shape != (self.n_features,)):
                raise ValueError(f"the scaler's {name} does not have {self.n_features} values")
        if proba is not None and (proba not in PROBA_RULES or classes is None):
            raise ValueError(f"unknown probability rule {proba!r}")
        if classes is not None:
            classes = np.asarray(classes)
            scores = 1 if n_out == 1 else n_out
            if classes.ndim != 1 or len(classes) < 2 or (scores > 1 and len(classes) != scores):
                raise ValueError(f"{len(classes)} classes for {n_out} score column(s)")
        self.coef = coef
        self._coef_t = coef.T if coef.ndim == 2 else coef
        self.intercept = intercept
        self.classes = classes
        self.proba = proba
        self.mean = mean
        self.scale = scale
        self.estimator = estimator

    def __getattr__(self, name: str) -> Any:
        # predict_proba and classes_ exist only where the estimator had them
        d = self.__dict__
        if name == "predict_proba" and d.get("proba") is not None:
            return self._predict_proba
        if name == "classes_" and d.get("classes") is not None:
            return d["classes"]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _input(self, inputs: Any) -> Any:
        import numpy as np

        x = np.asarray(inputs)
        if x.dtype == object:
            x = x.astype(np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(
                f"expected a 2-D array with {self.n_features} features, got shape {x.shape}"
            )
        if x.dtype.kind not in "biuf":
            raise ValueError(f"expected numbers, got dtype {x.dtype}")
        if self.mean is not None or self.scale is not None:  # StandardScaler.transform
            floats = (np.float64, np.float32, np.float16)
            x = np.array(x, dtype=x.dtype if x.dtype in floats else np.float64, copy=True)
            if self.mean is not None:
                x -= self.mean
            if self.scale is not None:
                x /= self.scale
        if x.dtype.kind == "f" and not np.isfinite(x).all():
            raise ValueError("Input X contains NaN or infinity.")
        return x

    def decision_function(self, inputs: Any) -> Any:
        scores = self._input(inputs) @ self._coef_t + self.intercept
        if self.classes is not None and scores.ndim > 1 and scores.shape[1] == 1:
            return scores.reshape(-1)
        return scores

    def predict(self, inputs: Any) -> Any:
        import numpy as np

        scores = self.decision_function(inputs)
        if self.classes is None:
            return scores
        binary = scores.ndim == 1
        indices = (scores > 0).astype(np.intp) if binary else np.argmax(scores, axis=1)
        return self.classes.take(indices, axis=0)

    def _predict_proba(self, inputs: Any) -> Any:
        import numpy as np

        scores = self.decision_function(inputs)
        if self.proba == "expit" or self.proba == "ovr":
            with np.errstate(over="ignore"):
                prob = 1.0 / (1.0 + np.exp(-scores))
            if prob.ndim == 1:
                return np.stack([1 - prob, prob], axis=1)
            total = prob.sum(axis=1)
            zero = total == 0
            if zero.any():
                prob[zero, :] = 1
                total[zero] = prob.shape[1]
            prob /= total.reshape((prob.shape[0], -1))
            return prob
        # softmax2: a binary multinomial model, scores d for classes as (-d, d)
        scores = np.c_[-scores, scores] if scores.ndim == 1 else scores.copy()
        scores -= scores.max(axis=1).reshape((-1, 1))
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1).reshape((-1, 1))
        return scores

    def arrays(self) -> dict[str, Any]:
        import numpy as np

        out = {"coef": self.coef, "intercept": self.intercept, **stored_classes(self.classes)}
        if self.mean is not None:
            out["mean"] = np.asarray(self.mean)
        if self.scale is not None:
            out["scale"] = np.asarray(self.scale)
        return out

    def rule(self) -> dict[str, Any]:
        """What the manifest records: how the arrays are read and used."""
        return {
            "file": FILE,
            "format": FORMAT,
            "estimator": self.estimator,
            **classes_rule(self.classes),
            "proba": self.proba,
            "scaler": self.mean is not None or self.scale is not None,
        }


def stored_classes(classes: Any) -> dict[str, Any]:
    """A classifier's classes as ``savez`` stores them (Python strings as NumPy text); none for
    a regressor."""
    if classes is None:
        return {}
    return {"classes": classes.astype(str) if classes.dtype == object else classes}


def classes_rule(classes: Any) -> dict[str, Any]:
    """The manifest's ``task`` and ``classes`` (whether labels were Python strings)."""
    kind = None if classes is None else ("object" if classes.dtype == object else "array")
    return {"task": "regressor" if classes is None else "classifier", "classes": kind}


def read_arrays(
    path: Path,
    rule: Mapping[str, Any],
    *,
    what: str,
    format: int,
    allowed: set[str],
    required: set[str],
) -> dict[str, Any]:
    """The arrays of a predictor file of ``format`` (read with ``allow_pickle=False``),
    checked against ``rule``: only ``allowed`` names, all ``required`` ones, classes exactly
    for a classifier, Python string labels restored as such."""
    import numpy as np

    if rule.get("format") != format:
        raise ValueError(f"{what} predictor format {rule.get('format')!r} is not {format}")
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    if set(arrays) - allowed or required - set(arrays):
        raise ValueError(f"unexpected arrays in {path.name}: {sorted(arrays)}")
    if ("classes" in arrays) != (rule.get("task") == "classifier"):
        raise ValueError("classes are stored for a regressor, or missing for a classifier")
    if "classes" in arrays and rule.get("classes") == "object":
        arrays["classes"] = arrays["classes"].astype(object)  # Python str, as the estimator had
    return arrays


def read_predictor(path: Path, rule: Mapping[str, Any]) -> LinearPredictor:
    """The predictor ``save_predictor`` wrote (the file already checked against its digest)."""
    arrays = read_arrays(
        path, rule, what="linear", format=FORMAT,
        allowed={"coef", "intercept", "classes", "mean", "scale"}, required={"coef", "intercept"},
    )  # fmt: skip
    classes = arrays.get("classes")
    return LinearPredictor(
        arrays["coef"],
        arrays["intercept"],
        classes=classes,
        proba=rule.get("proba"),
        mean=arrays.get("mean"),
        scale=arrays.get("scale"),
        estimator=str(rule.get("estimator", "")),
    )


def save_predictor(model: Any, folder: Path, sample: Any) -> dict[str, Any] | None:
    """Write ``linear.npz`` for ``model`` and return its rule, or ``None`` (and write nothing)
    where the model is not supported or the check against the estimator fails."""
    return save_checked(verified_predictor, model, folder / FILE, sample)


def save_checked(
    verify: Callable[[Any, Any], Any], model: Any, path: Path, sample: Any
) -> dict[str, Any] | None:
    """Write the arrays of the predictor ``verify(model, sample)`` returns to ``path`` and return
    its rule; ``None`` (nothing written) where ``verify`` finds none that answers as ``model``."""
    import numpy as np

    try:
        predictor = verify(model, sample)
    except NotDescribable as e:
        log.debug("no NumPy predictor for %s: %s", type(model).__qualname__, e)
        return None
    except Exception as e:  # a check that cannot run keeps the estimator as the only path
        log.debug("no NumPy predictor for %s: %s: %s", type(model).__qualname__, type(e), e)
        return None
    with open(path, "wb") as f:
        np.savez(f, **predictor.arrays())
    return dict(predictor.rule())


def verified_predictor(model: Any, sample: Any) -> LinearPredictor:
    """The predictor for ``model``, checked against it on the sample and generated rows."""
    candidates = describe(model)
    rows = check_rows(model, sample)
    reasons = []
    for predictor in candidates:
        why = differs(model, predictor, rows)
        if why is None:
            return predictor
        reasons.append(why)
    raise NotDescribable("; ".join(reasons) or "no candidate rule")


def describe(model: Any) -> list[LinearPredictor]:
    """The candidate predictors for ``model``, the likeliest rule first (the check picks)."""
    import numpy as np

    steps = _steps(model)
    mean = scale = None
    if len(steps) == 2:
        scaler = steps[0]
        if _exact(scaler) != "StandardScaler" or not _module_is(scaler, "sklearn.preprocessing"):
            raise NotDescribable(f"the step before the model is a {type(scaler).__qualname__}")
        if getattr(scaler, "with_mean", False):
            mean = np.array(scaler.mean_, dtype=np.float64)
        if getattr(scaler, "with_std", False) and scaler.scale_ is not None:
            scale = np.array(scaler.scale_, dtype=np.float64)
    est = steps[-1]
    name = _exact(est)
    if name not in CLASSIFIERS and name not in REGRESSORS:
        raise NotDescribable(f"{name} is not one of the supported linear models")
    if not _module_is(est, PACKAGE.get(name, "sklearn.linear_model")):
        raise NotDescribable(f"{type(est).__module__}.{name} is not scikit-learn's {name}")
    coef = np.array(est.coef_, dtype=est.coef_.dtype)
    intercept = np.array(est.intercept_)
    if intercept.dtype.kind != "f":
        intercept = intercept.astype(coef.dtype)
    full = f"{type(est).__module__}.{name}"
    if name in REGRESSORS:
        return [LinearPredictor(coef, intercept, mean=mean, scale=scale, estimator=full)]
    classes = np.asarray(est.classes_)
    if classes.dtype == object and not all(isinstance(c, str) for c in classes):
        raise NotDescribable("its classes are not all strings or all numbers")
    if classes.dtype.kind not in "biufUO":
        raise NotDescribable(f"its classes have dtype {classes.dtype}")
    if not hasattr(model, "predict_proba"):
        rules: list[str | None] = [None]
    else:
        rules = list(_proba_rules(est, len(classes)))
    return [
        LinearPredictor(
            coef, intercept, classes=classes, proba=r, mean=mean, scale=scale, estimator=full
        )
        for r in rules
    ]


def _proba_rules(est: Any, n_classes: int) -> tuple[str, ...]:
    multi = getattr(est, "multi_class", "auto")
    if _exact(est) == "SGDClassifier":
        if getattr(est, "loss", None) != "log_loss":
            raise NotDescribable(f"SGDClassifier(loss={est.loss!r}) probabilities")
        return ("expit",) if n_classes == 2 else ("ovr",)
    if n_classes == 2:
        return ("softmax2", "expit") if multi == "multinomial" else ("expit", "softmax2")
    ovr = multi == "ovr" or (multi != "multinomial" and getattr(est, "solver", "") == "liblinear")
    return ("ovr", "softmax") if ovr else ("softmax", "ovr")


def _steps(model: Any) -> list[Any]:
    if _exact(model) != "Pipeline":
        return [model]
    if not _module_is(model, "sklearn.pipeline"):
        raise NotDescribable("a Pipeline from outside scikit-learn")
    steps = [step for _, step in model.steps]
    if len(steps) not in (1, 2) or any(s is None or s == "passthrough" for s in steps):
        raise NotDescribable("a Pipeline other than [StandardScaler,] linear model")
    if getattr(model, "transform_input", None) is not None:
        raise NotDescribable("a Pipeline with transform_input")
    return steps


def _exact(obj: Any) -> str:
    return type(obj).__name__


def _module_is(obj: Any, package: str) -> bool:
    module = type(obj).__module__
    return module == package or module.startswith(package + ".")


def check_rows(model: Any, sample: Any) -> list[Any]:
    """The sample (as given: array or DataFrame) and rows drawn within its range, seeded."""
    import numpy as np

    n_features = int(getattr(model, "n_features_in_", 0))
    rng = np.random.default_rng(0)
    if sample is None:
        if not n_features:
            raise NotDescribable("no sample and no n_features_in_ to draw rows for")
        return [rng.standard_normal((GENERATED_ROWS, n_features))]
    from tether.models.infer import kind_of

    kind = kind_of(sample)
    if kind == "ndarray":
        array = np.asarray(sample)
        if array.ndim != 2 or array.dtype.kind not in "biuf" or len(array) == 0:
            raise NotDescribable(f"a sample of shape {array.shape} and dtype {array.dtype}")
        return [array, _drawn(rng, array)]
    if kind == "dataframe":
        import pandas as pd

        if len(sample) == 0 or not all(d.kind in "biuf" for d in sample.dtypes):
            raise NotDescribable("a DataFrame sample with columns other than numbers")
        drawn = pd.DataFrame(
            {c: _drawn(rng, sample[c].to_numpy()) for c in sample.columns}, columns=sample.columns
        )
        return [sample, drawn]
    raise NotDescribable(f"a sample of kind {kind}")


def _drawn(rng: Any, values: Any) -> Any:
    """``GENERATED_ROWS`` rows (or values) uniform within each column's range (of the values
    present: a sample may have missing ones), same dtype."""
    import numpy as np

    if values.dtype.kind == "f":
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a column of NaN only
            low, high = np.nanmin(values, axis=0), np.nanmax(values, axis=0)
        low, high = np.nan_to_num(low), np.nan_to_num(high)
    else:
        low, high = values.min(axis=0), values.max(axis=0)
    shape = (GENERATED_ROWS, *values.shape[1:])
    if values.dtype.kind == "b":
        return rng.integers(0, 2, shape).astype(bool)
    if values.dtype.kind in "iu":
        return rng.integers(low, high, shape, endpoint=True).astype(values.dtype)
    return rng.uniform(low, high, shape).astype(values.dtype)


def differs(model: Any, predictor: LinearPredictor, rows: list[Any]) -> str | None:
    """Why ``predictor`` does not answer as ``model`` does on ``rows`` (``None``: it does)."""

    import numpy as np

    with warnings.catch_warnings():  # the estimator's own warnings were shown at save
        warnings.simplefilter("ignore")
        return _differs(model, predictor, rows, np)


def _differs(model: Any, predictor: LinearPredictor, rows: list[Any], np: Any) -> str | None:
    for x in rows:
        want, got = np.asarray(model.predict(x)), predictor.predict(x)
        if want.dtype != got.dtype or want.shape != got.shape or not np.array_equal(want, got):
            return f"rule {predictor.proba}: predict differs"
        if predictor.proba is None:
            continue
        want_p, got_p = np.asarray(model.predict_proba(x)), predictor.predict_proba(x)
        if (
            want_p.shape != got_p.shape
            or not (np.abs(want_p - got_p) <= RTOL * np.abs(want_p)).all()
        ):
            return f"rule {predictor.proba}: predict_proba differs by more than {RTOL} relative"
    return None
