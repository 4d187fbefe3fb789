"""Change-point evaluation metrics against several human annotators.

The definitions follow van den Burg & Williams (2020), "An Evaluation of
Change Point Detection Algorithms" (arXiv:2003.06222), section 4.2:

* **F1 with margin** -- the set of predictions ``X`` and every annotator's set
  ``T_k`` get the start of the series (index 0) added.  Precision is the number
  of true positives of ``X`` against the *union* of all annotations divided by
  ``|X|``; recall is the mean over annotators of ``|TP(T_k, X)| / |T_k|``.  A
  true positive is an annotated location with a not-yet-used prediction within
  ``margin`` points; each prediction can match at most one annotated location
  (no double counting).
* **Segmentation covering** (Arbelaez et al. 2011) -- for every annotator the
  covering of that annotator's segmentation by the predicted segmentation,
  ``C(S', S) = 1/T * sum_{A in S} |A| * max_{A' in S'} J(A, A')`` where ``J`` is
  the Jaccard index of two segments; the result is the mean over annotators.

Before scoring, TCPDBench (``analysis/scripts/summarize.py``) deduplicates the
predicted locations and drops those outside ``[1, n_obs - 2]``, because many
methods report the end points by default; :func:`clean_predictions` does the
same and the evaluation script applies it.  The metric functions themselves,
like TCPDBench's ``metrics.py``, score whatever they are given.

The module also has :func:`load_tcpd`, a reader for the TCPD JSON format, so the
evaluation script and the tests share one loader.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

__all__ = ["clean_predictions", "covering", "f1_score", "load_tcpd", "true_positives"]


def clean_predictions(predictions: Iterable[int], n_obs: int) -> list[int]:
    """Deduplicate predictions and keep those in ``[1, n_obs - 2]``, as TCPDBench does.

    Parameters
    ----------
    predictions : iterable of int
        Predicted change-point locations (0-based).
    n_obs : int
        Length of the series.

    Returns
    -------
    list of int
        Sorted, unique locations ``1 <= x < n_obs - 1``.
    """
    return sorted({int(x) for x in predictions if 1 <= int(x) < n_obs - 1})


def true_positives(annotated: Iterable[int], predicted: Iterable[int], margin: int = 5) -> set[int]:
    """Annotated locations that have a matching prediction, without double counting.

    Annotated locations are visited in increasing order; each takes the closest
    unused prediction within ``margin`` points (ties go to the smaller index).

    Parameters
    ----------
    annotated : iterable of int
        Annotated change-point locations.
    predicted : iterable of int
        Predicted change-point locations.
    margin : int, default 5
        Largest allowed distance between a prediction and an annotation.

    Returns
    -------
    set of int
        The annotated locations counted as detected.
    """
    unused = set(predicted)
    hits: set[int] = set()
    for tau in sorted(set(annotated)):
        close = sorted((abs(tau - x), x) for x in unused if abs(tau - x) <= margin)
        if close:
            hits.add(tau)
            unused.discard(close[0][1])
    return hits


def f1_score(
    annotations: Mapping[object, Iterable[int]],
    predictions: Iterable[int],
    margin: int = 5,
    *,
    return_pr: bool = False,
) -> float | tuple[float, float, float]:
    """F1 score of predicted change points against several annotators.

    Parameters
    ----------
    annotations : mapping
        Annotator id to that annotator's change-point locations (0-based).
    predictions : iterable of int
        Predicted change-point locations (0-based).
    margin : int, default 5
        Largest distance at which a prediction counts as a hit.
    return_pr : bool, default False
        Also return precision and recall.

    Returns
    -------
    float or tuple of float
        F1, or ``(F1, precision, recall)`` when ``return_pr`` is true.
    """
    per_annotator = [set(cps) | {0} for cps in annotations.values()]
    if not per_annotator:
        raise ValueError("f1_score needs at least one annotator")
    union = set().union(*per_annotator)
    pred = set(int(p) for p in predictions) | {0}
    precision = len(true_positives(union, pred, margin)) / len(pred)
    recall = float(np.mean([len(true_positives(t, pred, margin)) / len(t) for t in per_annotator]))
    f1 = 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)
    return (f1, precision, recall) if return_pr else f1


def _segment_ids(cps: Iterable[int], n_obs: int) -> np.ndarray:
    """Segment label of every position ``0..n_obs-1`` for the given change points."""
    bounds = sorted({int(c) for c in cps if 0 < int(c) < n_obs})
    labels = np.zeros(n_obs, dtype=np.int64)
    for b in bounds:
        labels[b:] += 1
    return labels


def _cover_single(pred_labels: np.ndarray, true_labels: np.ndarray) -> float:
    """Covering of the true segmentation by the predicted one."""
    n = true_labels.size
    # contingency table of segment overlaps
    n_true = int(true_labels.max()) + 1
    n_pred = int(pred_labels.max()) + 1
    table = np.zeros((n_true, n_pred), dtype=np.int64)
    np.add.at(table, (true_labels, pred_labels), 1)
    size_true = table.sum(axis=1)
    size_pred = table.sum(axis=0)
    union = size_true[:, None] + size_pred[None, :] - table
    jaccard = table / union
    return float((size_true * jaccard.max(axis=1)).sum() / n)


def covering(annotations: Mapping[object, Iterable[int]], predictions: Iterable[int], n_obs: int) -> float:
    """Mean segmentation covering of the annotators' segmentations by the prediction.

    Parameters
    ----------
    annotations : mapping
        Annotator id to that annotator's change-point locations (0-based).
    predictions : iterable of int
        Predicted change-point locations (0-based).
    n_obs : int
        Length of the series.

    Returns
    -------
    float
        Covering in ``[0, 1]``; 1 means every annotator's segmentation is matched.
    """
    if not annotations:
        raise ValueError("covering needs at least one annotator")
    pred = _segment_ids(predictions, n_obs)
    scores = [_cover_single(pred, _segment_ids(cps, n_obs)) for cps in annotations.values()]
    return float(np.mean(scores))


def load_tcpd(directory: str | Path) -> dict[str, tuple[np.ndarray, dict[str, list[int]]]]:
    """Read the univariate series of a TCPD folder with their annotations.

    Parameters
    ----------
    directory : str or Path
        Folder holding ``annotations.json`` and ``<name>.json`` files.

    Returns
    -------
    dict
        Series name to ``(values, annotations)``; missing values become NaN.
    """
    directory = Path(directory)
    annotations = json.loads((directory / "annotations.json").read_text())
    out: dict[str, tuple[np.ndarray, dict[str, list[int]]]] = {}
    for name in sorted(annotations):
        data = json.loads((directory / f"{name}.json").read_text())
        if data.get("n_dim", 1) != 1:
            continue
        raw = data["series"][0]["raw"]
        values = np.array([np.nan if v is None else float(v) for v in raw], dtype=np.float64)
        out[name] = (values, {str(k): list(v) for k, v in annotations[name].items()})
    return out
