"""Prediction with honest uncertainty.

* :class:`PerformanceModel` — predict throughput, latency, memory … of
  configurations nobody measured (a model never run on that hardware, a new
  batch size or precision), in log space, with conformal prediction intervals;
* :func:`cross_validate` — K-fold accuracy and interval coverage on your data;
* :func:`suggest_next` — which benchmark to run next (expected information per
  unit cost, diverse batches);
* :func:`recommend` — rank hardware for a configuration, measured figures where
  they exist and predicted ones (with intervals) elsewhere;
* :func:`validate`, :func:`calibrate`, :func:`drift` — check simulated or
  predicted results against measurements.

Everything predicted carries ``provenance = "predicted"``; stored predictions
(:mod:`benchlab.store._predictions`) record the model version and a hash of its
training inputs.
"""

from __future__ import annotations

from benchlab.predict._evaluate import accuracy, cross_validate
from benchlab.predict._model import MODEL_NAME, MODEL_VERSION, PerformanceModel, PredictionError
from benchlab.predict._recommend import recommend
from benchlab.predict._suggest import suggest_next
from benchlab.predict._validate import RATINGS, Calibration, calibrate, drift, validate

__all__ = [
    "PerformanceModel",
    "PredictionError",
    "MODEL_NAME",
    "MODEL_VERSION",
    "cross_validate",
    "accuracy",
    "suggest_next",
    "recommend",
    "validate",
    "calibrate",
    "Calibration",
    "drift",
    "RATINGS",
]
