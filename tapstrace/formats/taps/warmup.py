"""Which TaPS task records are warm-up tasks, by the rule TaPS itself follows.

TaPS' synthetic app submits warm-up tasks before its workload and waits for all of them
before submitting anything else (``warmup_task``, a bool, from 2024-05-29;
``warmup_tasks``, a count, from 2024-09-06, often one per worker). Their function is
``warmup_task``, named ``warmup`` once TaPS tasks got names (2024-09-05). The TaPS authors
leave them out of makespan and throughput. Parsl's executor warm-up (2025) goes to Parsl
directly, not through TaPS' engine, so it leaves no record.
"""

from __future__ import annotations

from collections.abc import Sequence

from tapstrace.formats.taps.records import TaskRecord

#: Names TaPS gave its warm-up task.
WARMUP_NAMES = frozenset({"warmup", "warmup_task"})

#: The rule, as the analysis summary shows it.
RULE = (
    "TaPS warm-up: the tasks named warmup or warmup_task that come first in submission "
    "order, with no parents and no children"
)


def warmup_flags(records: Sequence[TaskRecord]) -> list[bool]:
    """One flag per record (records in submission order): True for warm-up tasks.

    A warm-up task is named ``warmup`` or ``warmup_task``, has no parents, is no task's
    parent, and is submitted before the first task that is not one (TaPS waits for its
    warm-ups before starting the workload, so they lead the submission order).
    """
    parents = {p for r in records for p in r.parent_task_ids}
    flags = [False] * len(records)
    for i, record in enumerate(records):
        if (
            record.function not in WARMUP_NAMES
            or record.parent_task_ids
            or record.task_id in parents
        ):
            break
        flags[i] = True
    return flags
