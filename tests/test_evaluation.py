"""The generated set, read and decided by a real run: no payment confirmed for a wrong order,
the receipts confirmed, every other case in review with its reason or quarantined.

The suite runs a quicker set (every layout as text, four as scans and photos);
`bench/reading_bench.py` runs the whole one and prints the figures."""

from __future__ import annotations

import pytest

from tests.docgen.evaluation import Evaluation, build, judge
from tests.docgen.orders import orders_csv
from tests.test_pipeline import _db, _run

SCAN_LAYOUTS = ("intesa", "bollettino", "english", "table_fees")


@pytest.fixture(scope="module")
def quick_set() -> Evaluation:
    return build(scan_layouts=SCAN_LAYOUTS, amounts_per_layout=2)


def test_the_generated_set_is_decided_right(ws_mail, quick_set: Evaluation) -> None:
    ws, _ = ws_mail
    export = ws.root / "orders.csv"
    export.write_text(orders_csv(quick_set.orders), encoding="utf-8")
    assert ws.cli("orders", "import", str(export)).exit_code == 0
    for case in quick_set.cases:
        (ws.drop / case.name).write_bytes(case.data)
    _run(ws)
    engine = _db(ws)
    card = judge(engine, quick_set.cases)
    engine.dispose()
    assert card.wrong_confirmations == []
    assert card.share("text") == 1.0, card.misses
    assert card.share("scan", "photo") >= 0.9, card.misses
    assert card.share("review") == 1.0, card.misses
    assert card.share("hostile") == 1.0, card.misses
