"""Regression analysis: change points, detection, A/B comparison, triage, CI gate.

>>> import benchlab
>>> from benchlab import regress
>>> store = benchlab.open()
>>> changes = regress.detect_store(store, metric="latency")      # untriaged changes
>>> regress.triage(store, changes["change_id"][0], "expected", note="new feature")
>>> result = regress.gate(store, baseline_branch="main", contender_branch="feature")
>>> print(result.markdown); result.failed
"""

from benchlab.regress._abtest import VERDICTS, ab_compare
from benchlab.regress._changepoints import changepoints
from benchlab.regress._common import DEFAULT_MIN_EFFECT, SEVERITIES, SEVERITY_LEVELS, change_id
from benchlab.regress._detect import DETECT_SCHEMA, detect, detect_store
from benchlab.regress._gate import GateResult, gate
from benchlab.regress._triage import TRIAGE_STATUSES, TriageError, triage, triage_history, triage_status

__all__ = [
    "changepoints",
    "detect",
    "detect_store",
    "ab_compare",
    "triage",
    "triage_history",
    "triage_status",
    "gate",
    "GateResult",
    "TriageError",
    "change_id",
    "DETECT_SCHEMA",
    "SEVERITY_LEVELS",
    "SEVERITIES",
    "DEFAULT_MIN_EFFECT",
    "TRIAGE_STATUSES",
    "VERDICTS",
]
