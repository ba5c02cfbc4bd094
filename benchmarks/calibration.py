"""Confidence calibration: what the engine's confidence means, measured and fitted.

``confidence`` should read as a probability: of all suggestions shown at 0.7 (first-ranked
or not), about 70 % are right. Every candidate the engine shows is an observation (its
group, its evidence score, whether its invoice set is the credit's true set); an
automatic match is one too.

- ``reliability(observations)``: the reliability table (confidence bins, mean confidence,
  share right) and the expected calibration error (ECE: the bins' |confidence - share
  right| weighted by their size).
- ``fit(observations)``: isotonic regression of "right" on the evidence score, per group
  (automatic, and suggestion ranks 1, 2, 3), as a table of 101 confidences per group (one
  per score point) that ``payymo/matching/calibration_table.py`` keeps as plain data, so
  the engine needs no fitting library. scikit-learn is only needed here, to refit:
  ``pip install -e '.[calibrate]'`` then
  ``.venv/bin/python benchmarks/calibration.py --seeds 11,12,13,14,15``
  (fitting seeds apart from the benchmark's 1-5, so the benchmark measures data the fit
  never saw).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TABLE_PATH = ROOT / "payymo" / "matching" / "calibration_table.py"
GROUPS = ("auto", "1", "2", "3")
BINS = 10
ECE_GOAL = 0.05


@dataclass(frozen=True)
class Observation:
    """One shown candidate: its group, evidence points, the confidence shown, and the truth."""

    group: str
    points: int
    confidence: float
    right: bool


def observations(truth: dict[str, frozenset[str]], decisions: Iterable) -> list[Observation]:
    """Every automatic match and every suggestion shown, with whether it was right."""
    out = []
    for decision in decisions:
        true_set = truth[decision.transaction_id]
        if decision.auto is not None:
            out.append(_observe("auto", decision.auto, true_set))
        for rank, candidate in enumerate(decision.suggestions, start=1):
            out.append(_observe(str(rank), candidate, true_set))
    return out


def _observe(group: str, candidate, true_set: frozenset[str]) -> Observation:
    return Observation(
        group=group,
        points=round(candidate.score * 100),
        confidence=candidate.confidence,
        right=frozenset(candidate.invoice_ids) == true_set,
    )


@dataclass(frozen=True)
class Reliability:
    """A reliability table and its expected calibration error."""

    rows: list[tuple[float, float, int, float, float]]  # low, high, n, mean conf, right
    ece: float
    n: int

    def lines(self, label: str = "") -> list[str]:
        """The table as a person reads it."""
        out = [f"  reliability{label}: confidence bin, suggestions, mean confidence, right"]
        for low, high, n, conf, right in self.rows:
            if n:
                out.append(
                    f"    {low:.1f}-{high:.1f}  {n:>7}  {conf:6.3f}  {right:6.3f}"
                    f"  (gap {abs(conf - right):.3f})"
                )
        return out


def reliability(obs: Sequence[Observation], *, suggestions_only: bool = True) -> Reliability:
    """Bin by shown confidence; ECE is the size-weighted mean |confidence - share right|."""
    chosen = [o for o in obs if o.group != "auto"] if suggestions_only else list(obs)
    rows, ece = [], 0.0
    for b in range(BINS):
        low, high = b / BINS, (b + 1) / BINS
        inside = [
            o
            for o in chosen
            if low <= o.confidence < high or (b == BINS - 1 and o.confidence == 1.0)
        ]
        if not inside:
            rows.append((low, high, 0, 0.0, 0.0))
            continue
        conf = sum(o.confidence for o in inside) / len(inside)
        right = sum(o.right for o in inside) / len(inside)
        rows.append((low, high, len(inside), conf, right))
        ece += len(inside) / max(len(chosen), 1) * abs(conf - right)
    return Reliability(rows=rows, ece=ece, n=len(chosen))


def fit(obs: Sequence[Observation]) -> dict[str, tuple[float, ...]]:
    """Per group, the isotonic fit of "right" on the evidence points, at points 0..100."""
    from sklearn.isotonic import IsotonicRegression

    table = {}
    for group in GROUPS:
        mine = [o for o in obs if o.group == group]
        if not mine:
            table[group] = tuple(p / 100 for p in range(101))
            continue
        model = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip")
        model.fit([o.points for o in mine], [float(o.right) for o in mine])
        table[group] = tuple(round(float(v), 3) for v in model.predict(list(range(101))))
    return table


def write_table(table: dict[str, tuple[float, ...]], *, source: str) -> None:
    """Keep the fitted table as plain data in the package (101 numbers per group)."""
    lines = [
        '"""Fitted confidence per evidence point (0..100), by group: generated, do not edit.',
        "",
        f"Refit with benchmarks/calibration.py ({source}).",
        '"""',
        "",
        "_FITTED = {",
    ]
    for group in GROUPS:
        values = " ".join(f"{v:.3f}" for v in table[group])
        lines.append(f'    "{group}": "{values}",')
    lines += [
        "}",
        "TABLE = {group: tuple(map(float, row.split())) for group, row in _FITTED.items()}",
    ]
    TABLE_PATH.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv=None) -> int:
    """Generate fitting data, fit, write the table, and show the fit's reliability."""
    from benchmarks.matching_data import generate
    from payymo.matching.engine import reconcile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", default="11,12,13,14,15")
    parser.add_argument("--transactions", type=int, default=10_000)
    parser.add_argument("--invoices", type=int, default=50_000)
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    obs: list[Observation] = []
    for seed in seeds:
        data = generate(seed, args.transactions, args.invoices)
        decisions = reconcile(
            data.transactions, data.invoices, settings=data.settings, memory=data.memory
        )
        obs += observations(data.truth, decisions)
    table = fit(obs)
    write_table(table, source=f"seeds {args.seeds}, {len(obs)} observations")
    print(f"fitted on {len(obs)} observations from seeds {args.seeds}; wrote {TABLE_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
