"""One row of the speed table (issue 15): pecflow's figure beside its floor, measured in the
same run, so that the machine's pace cancels out of the ratio."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Row:
    scenario: str
    figure: float  # pecflow's
    floor: float  # the bare operation's, measured in the same run
    unit: str  # "msg/s", "s", "MB"
    floor_name: str  # what the floor is: "bare FETCH", "python -c pass", "bare SQL", ...
    target: str  # as the issue words it: ">= 75 % of floor", "< 0.3 s"
    met: bool

    @property
    def ratio(self) -> float:
        """pecflow over its floor: a share of the rate for rates, a multiple for times."""
        return self.figure / self.floor if self.floor else float("nan")


def print_rows(rows: list[Row], out: Callable[[str], None] = print) -> None:
    out(
        f"{'scenario':<52} {'pecflow':>10} {'floor':>10} {'unit':<6} {'ratio':>7}  "
        f"{'floor is':<22} {'target':<18} met"
    )
    for r in rows:
        out(
            f"{r.scenario:<52} {r.figure:>10.3g} {r.floor:>10.3g} {r.unit:<6} {r.ratio:>7.2f}  "
            f"{r.floor_name:<22} {r.target:<18} {'yes' if r.met else 'NO'}"
        )
