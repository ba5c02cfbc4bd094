"""Evidence points to a confidence a person can read as a probability.

The table (``calibration_table.TABLE``) is fitted by ``benchmarks/calibration.py`` on
generated data with ground truth: per group (an automatic match, or a suggestion's rank
1, 2 or 3), the share of candidates with that many points that were right. It is plain
data, so the engine needs no fitting library; the fit is isotonic, so more evidence never
reads as less confidence within a group.
"""

from __future__ import annotations

from payymo.matching.calibration_table import TABLE

AUTO = "auto"


def calibrated(points: int, group: str) -> float:
    """The confidence shown for ``points`` of evidence in ``group`` ("auto", "1", "2", "3")."""
    row = TABLE.get(group, TABLE["3"])  # a rank past 3 reads as rank 3
    return row[min(max(points, 0), 100)]
