"""What a byte of each payload kind costs beyond a byte of ``bytes``.

Calibration moves ``bytes`` payloads, but traces hold numpy arrays, Python objects and
dicts, which cost far more per byte to make and to (de)serialise (a list of floats about
ten times what bytes do: benchmarks/payload_kinds.py). A model keeps, per kind, the
seconds per byte of making a payload, pickling it and unpickling it; the simulator adds
what a kind costs beyond ``bytes`` (whose costs the calibration's fit already holds)
where each happens: making and pickling a result on its worker, unpickling it at the
client, and both for each input moved to a task.

They are measured where the model is fitted, on the payloads a replay makes
(tapstrace.replay.task.payload). An executor that hands objects over in memory (the
thread pool) pays for making them only.
"""

from __future__ import annotations

import pickle
import time
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from tapstrace.replay.task import payload

#: Kinds a trace records (``output_kind``, ``input_kind``) that replay as their own
#: payloads; any other kind (or none) is priced as bytes.
KINDS = ("bytes", "array", "object", "mapping")
#: Executors that pass payloads in memory, without serialising them.
IN_MEMORY = frozenset({"thread"})
#: Size of the payloads measured (large enough that fixed costs do not count).
MEASURED_BYTES = 1_000_000


class KindCost(BaseModel):
    """Seconds per byte (as the engine measures sizes) of one payload kind."""

    model_config = ConfigDict(extra="forbid")

    make: float = Field(0.0, ge=0)
    dumps: float = Field(0.0, ge=0)
    loads: float = Field(0.0, ge=0)


def measure_kind_costs(rounds: int = 5) -> dict[str, KindCost]:
    """Each kind's costs on this machine (best of ``rounds``, a 1 MB payload each)."""
    costs = {}
    for kind in KINDS:
        make = dumps = loads = float("inf")
        for _ in range(rounds):
            t0 = time.perf_counter()
            value = payload(MEASURED_BYTES, kind)
            t1 = time.perf_counter()
            data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            t2 = time.perf_counter()
            pickle.loads(data)
            t3 = time.perf_counter()
            make, dumps, loads = min(make, t1 - t0), min(dumps, t2 - t1), min(loads, t3 - t2)
            del value, data
        costs[kind] = KindCost(make=make / MEASURED_BYTES, dumps=dumps / MEASURED_BYTES,
                               loads=loads / MEASURED_BYTES)  # fmt: skip
    return costs


def payload_extras(
    costs: dict[str, KindCost],
    in_memory: bool,
    outputs: np.ndarray,
    output_kinds: Sequence[str | None],
    externals: np.ndarray,
    external_kinds: Sequence[str | None],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seconds each task's payloads cost beyond bytes of the same size: on its worker
    (making and pickling its result), at the client (unpickling its result), moving
    its result to a child (pickling and unpickling it), and moving its external input
    (made on the client and moved). Zeros where the model has no kind costs (models
    fitted before they were measured)."""
    zero = np.zeros(len(outputs))
    base = costs.get("bytes")
    if base is None:
        return zero, zero, zero, zero

    def extra(name: str) -> dict[str | None, float]:
        b = getattr(base, name)
        return {k: max(0.0, getattr(c, name) - b) for k, c in costs.items()}

    make, dumps, loads = extra("make"), extra("dumps"), extra("loads")
    if in_memory:  # nothing pickled; external input comes as a handle, nothing made
        dumps = loads = dict.fromkeys(costs, 0.0)
    moved = {k: dumps[k] + loads[k] for k in dumps}
    made_moved = moved if in_memory else {k: make[k] + moved[k] for k in moved}

    out, ext = _codes(output_kinds), _codes(external_kinds)

    def per_byte(table: dict[str | None, float]) -> np.ndarray:
        return np.array([0.0, *(table.get(k, 0.0) for k in KINDS)])  # code 0: unknown

    return (
        outputs * (per_byte(make) + per_byte(dumps))[out],
        outputs * per_byte(loads)[out],
        outputs * per_byte(moved)[out],
        externals * per_byte(made_moved)[ext],
    )


def _codes(kinds: Sequence[str | None]) -> np.ndarray:
    """Each kind's position in KINDS plus one (0: a kind priced as bytes)."""
    code: dict[str | None, int] = {kind: i + 1 for i, kind in enumerate(KINDS)}
    return np.fromiter((code.get(k, 0) for k in kinds), dtype=np.int64, count=len(kinds))
