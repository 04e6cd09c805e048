"""The generated set, read and decided by a real run on SQLite and on PostgreSQL: no payment
confirmed without proof or for a wrong order, every group decided as a correct pecflow would.

The suite runs a quicker set (every layout as text, a few of each kind as scans and photos);
`bench/reading_bench.py` runs the whole one and prints the figures."""

from __future__ import annotations

import pytest

from tests.docgen.evaluation import QUICK, Evaluation, build, judge
from tests.docgen.orders import orders_csv
from tests.docgen.signatures import root_pem
from tests.test_pipeline import _db, _run


@pytest.fixture(scope="module")
def quick_set() -> Evaluation:
    return build(QUICK)


def test_the_generated_set_is_decided_right(ws_mail, quick_set: Evaluation) -> None:
    """On SQLite the whole quick set; on PostgreSQL the cases that need no OCR (reading does
    not depend on the database, deciding and writing do)."""
    ws, _ = ws_mail
    on_sqlite = ws.env["PECFLOW_DATABASE__URL"].startswith("sqlite")
    cases = [c for c in quick_set.cases if on_sqlite or c.form in ("text", "mail")]
    roots = ws.root / "roots.pem"
    roots.write_bytes(root_pem())
    ws.env["PECFLOW_SIGNATURES__TRUST_ROOTS"] = str(roots)
    export = ws.root / "orders.csv"
    export.write_text(orders_csv(quick_set.orders), encoding="utf-8")
    assert ws.cli("orders", "import", str(export)).exit_code == 0
    for case in cases:
        (ws.drop / case.name).write_bytes(case.data)
    _run(ws)
    engine = _db(ws)
    card = judge(engine, cases)
    engine.dispose()
    assert card.wrong_confirmations == []
    assert card.share(("adversarial",)) == 1.0, card.misses
    assert card.share(("noise", "decorated")) == 1.0, card.misses
    assert card.share(forms=("text", "mail")) == 1.0, card.misses
    assert card.share(forms=("scan", "photo")) >= 0.9, card.misses
    assert card.share(("review", "hostile")) == 1.0, card.misses
