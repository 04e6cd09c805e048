"""How a batch groups its decisions into transactions (pipeline.services.run._groups)."""

from __future__ import annotations

from concurrent.futures import Future

from hypothesis import given
from hypothesis import strategies as st

from pipeline.services.run import PROCESS_GROUP, _groups


def _future(done: bool) -> Future[int]:
    future: Future[int] = Future()
    if done:
        future.set_result(1)
    return future


@given(st.lists(st.booleans(), max_size=3 * PROCESS_GROUP))
def test_groups_keep_the_order_never_wait_and_stay_small(ready: list[bool]) -> None:
    """Every reading once, in order; a group holds at most PROCESS_GROUP, and only its
    first reading may still be under way (a transaction never waits for a reading)."""
    items = [(n, _future(done)) for n, done in enumerate(ready)]
    groups = list(_groups(iter(items), lambda: False))
    assert [n for group in groups for n, _ in group] == list(range(len(items)))
    assert all(0 < len(group) <= PROCESS_GROUP for group in groups)
    assert all(future.done() for group in groups for _, future in group[1:])


def test_asked_to_stop_no_further_group_is_handed_out() -> None:
    items = [(n, _future(True)) for n in range(10)]
    asked = iter([False, False, True])
    groups = list(_groups(iter(items), lambda: next(asked, True)))
    assert groups == []  # two were gathered, the stop came before they were handed out
