"""No-op task throughput of TaskVine: bare, and through tapstrace in both modes.

Needs ndcctools (TaskVine, from conda-forge) importable and vine_worker on PATH; the
function-call rows also need conda-pack. For each round and each kind below, a child
process starts a manager and local workers (start-up excluded), warms them up, then
submits a bag of no-op tasks at once and times them until the last result is back:

- ``vine-task``: TaskVine's own PythonTask of a no-op function (pickled by value): one
  Python process per task with nothing of tapstrace in it;
- ``vine-call``: TaskVine's own FunctionCall to a library, fork per call: the floor
  of function-call mode;
- ``task``, ``function-call``: tapstrace's Engine on the taskvine executor in that
  mode, the synthetic app's no-op task, every task recorded into a trace;
  ``function-call-direct``: the same with ``exec_mode="direct"`` (calls run in the
  library process itself, not in a fork of it).

With ``--baseline REF`` the tapstrace kinds also run on the code of git commit REF
(its tree, imported first on PYTHONPATH by the manager and by the workers' tasks),
alternating with the working tree in every round, and the ratio current / baseline is
printed. Medians over the rounds. Both trees are byte-compiled first, as pip does on
install (a task process would otherwise compile tapstrace's modules every time where
PYTHONDONTWRITEBYTECODE is set); ``--no-compile`` measures them as they are.

    python benchmarks/taskvine_tasks.py [--workers 1,2] [--tasks 40] [--calls 200]
        [--rounds 3] [--kinds vine-task,task,vine-call,function-call,...] [--baseline REF]
        [--no-compile]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
KINDS = ("vine-task", "task", "vine-call", "function-call", "function-call-direct")
#: Folders of the source tree and the packages they install as (setup.py's ROOTS).
LAYOUT = {"apps": "apps", "executors": "executors", "analysis": "analysis"}


def noop() -> None:
    """The bare kinds' task: defined in __main__, so TaskVine pickles it by value."""


def child(kind: str, workers: int, n: int) -> dict[str, Any]:
    """Run ``n`` no-op tasks of ``kind`` on a fresh executor: tasks/s."""
    from tapstrace.apps.synthetic import synthetic_task
    from tapstrace.engine import Engine
    from tapstrace.executors.taskvine import TaskVineConfig
    from tapstrace.trace import TraceWriter, read_trace

    mode = "function-call" if "call" in kind else "task"
    with tempfile.TemporaryDirectory() as tmp:
        exec_mode = "direct" if kind.endswith("-direct") else "fork"
        config = TaskVineConfig(workers=workers, mode=mode, exec_mode=exec_mode)
        executor = config.build(Path(tmp))
        try:
            if kind.startswith("vine-"):
                vine, manager = executor.vine, executor.manager

                def bag(k: int) -> None:
                    for _ in range(k):
                        task = (
                            vine.FunctionCall("tapstrace", "run_task", noop)
                            if mode == "function-call"
                            else vine.PythonTask(noop)
                        )
                        manager.submit(task)
                    for _ in range(k):
                        while (task := manager.wait(1)) is None:
                            pass
                        assert task.successful(), (task.result, task.std_output)

            else:
                path = Path(tmp) / "trace.arrow"
                writer = TraceWriter(path)
                engine = Engine(executor, recorder=writer)

                def bag(k: int) -> None:
                    futures = [engine.submit(synthetic_task, 0.0, "sleep", 0) for _ in range(k)]
                    for future in futures:
                        future.result()

            bag(2 * workers)  # warm up: every worker has run a task
            start = time.perf_counter()
            bag(n)
            seconds = time.perf_counter() - start
            if not kind.startswith("vine-"):
                writer.close()
                assert read_trace(path).tasks.height == n + 2 * workers  # all recorded
        finally:
            executor.shutdown()
    return {"tasks_per_s": n / seconds}


def baseline_tree(ref: str, into: Path) -> Path:
    """Commit ``ref``'s tree laid out as installed (tapstrace.apps, ...): a sys.path entry."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", ref], check=True, capture_output=True
    ).stdout
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        if hasattr(tarfile, "data_filter"):  # Python 3.11.4 and later
            tar.extractall(into, filter="data")
        else:
            tar.extractall(into)  # our own repository's tree
    for package, folder in LAYOUT.items():
        (into / "tapstrace" / package).symlink_to(into / folder, target_is_directory=True)
    return into


def measure(kind: str, workers: int, n: int, path: Path | None) -> float:
    """One child run; ``path`` (a baseline tree) goes first on PYTHONPATH."""
    env = dict(os.environ)
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(path), env.get("PYTHONPATH")]))
    command = [sys.executable, __file__, "--child", kind, "--workers", str(workers)]
    out = subprocess.run(
        [*command, "--tasks", str(n)], env=env, check=True, capture_output=True, text=True
    ).stdout
    return float(json.loads(out.splitlines()[-1])["tasks_per_s"])


def spread(values: list[float]) -> str:
    return f"{f'({min(values):.1f}-{max(values):.1f})':>14}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", default="1", help="comma-separated worker counts")
    parser.add_argument("--tasks", type=int, default=40, help="tasks per bag, task mode")
    parser.add_argument("--calls", type=int, default=200, help="tasks per bag, function calls")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--baseline", help="git commit to compare the tapstrace kinds with")
    parser.add_argument("--no-compile", action="store_true", help="do not byte-compile")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, int(args.workers), args.tasks)))
        return
    try:
        import ndcctools.taskvine  # noqa: F401
    except ImportError as exc:
        sys.exit(f"TaskVine is not importable ({exc}): conda install -c conda-forge ndcctools")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, {args.rounds} rounds "
          f"(median); load {load}")  # fmt: skip
    head = f"{'kind':<21}{'workers':>8}{'tasks':>7}{'tasks/s':>10}{'(min-max)':>14}"
    print(head + (f"{'baseline':>10}{'(min-max)':>14}{'ratio':>8}" if args.baseline else ""))
    with tempfile.TemporaryDirectory() as tmp:
        base = baseline_tree(args.baseline, Path(tmp)) if args.baseline else None
        for tree in [] if args.no_compile else filter(None, [ROOT, base]):
            for folder in ("tapstrace", *LAYOUT.values()):
                compileall.compile_dir(tree / folder, quiet=1)
        for workers in map(int, args.workers.split(",")):
            for kind in args.kinds.split(","):
                n = args.calls if "call" in kind else args.tasks
                now, before = [], []
                for _ in range(args.rounds):
                    now.append(measure(kind, workers, n, None))
                    if base is not None and not kind.startswith("vine-"):
                        before.append(measure(kind, workers, n, base))
                line = f"{kind:<21}{workers:>8}{n:>7}{statistics.median(now):>10.1f}{spread(now)}"
                if before:
                    b = statistics.median(before)
                    line += f"{b:>10.1f}{spread(before)}{statistics.median(now) / b:>8.2f}"
                print(line, flush=True)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load at the end: {load}")


if __name__ == "__main__":
    main()
