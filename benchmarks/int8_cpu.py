"""The generator alone, float32 against int8, in CPU seconds (issue 29): each model's ONNX Runtime session as unmask
makes it (2 threads, no spinning), one batch of 2 crops (a face and its mirror, as flip averaging runs), the models
called in alternation, one call each per round, so that the shared machine's load hits them alike. CPU time is the
process's own (all its threads), steadier than wall time when other processes share the cores.

Run: python benchmarks/int8_cpu.py MODEL [MODEL ...] [--repeats 40] [--threads 2] [--profile]
MODEL: a name (`unmask models`) or an .onnx path; the first is the reference of the speed-ups. ``--profile``: also
ONNX Runtime's kernel time per operator type (its profiler, 10 calls), to see where each model's time goes.
"""

from __future__ import annotations

import argparse
import collections
import json
import statistics
import tempfile
import time
from pathlib import Path

import onnxruntime as ort

from unmask.infer.runtime import find_model, load_model
from unmask.infer.runtime.session import SPIN
from unmask.measure.generator import generator_inputs


def profile(path: Path, feed: dict, threads: int, calls: int = 10) -> list[tuple[str, float, int]]:
    """(operator type, kernel ms a call, nodes run a call), largest first."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if SPIN else "0")
    opts.enable_profiling = True
    with tempfile.TemporaryDirectory() as tmp:
        opts.profile_file_prefix = str(Path(tmp) / "p")
        sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        for _ in range(calls):
            sess.run(None, feed)
        events = json.loads(Path(sess.end_profiling()).read_text())
    took: collections.Counter = collections.Counter()
    count: collections.Counter = collections.Counter()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            took[e["args"]["op_name"]] += e["dur"] / 1000 / calls
            count[e["args"]["op_name"]] += 1
    return [(op, ms, count[op] // calls) for op, ms in took.most_common()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--repeats", type=int, default=40)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    paths = [find_model(m, None) for m in args.models]
    models = [load_model(p, "cpu", args.threads) for p in paths]
    crops, holes = generator_inputs(models[0].size, 2)
    feed = models[0].to_tensors(crops, holes)
    cpu: list[list[float]] = [[] for _ in models]
    for _ in range(2):
        for m in models:
            m.session.run([m.meta.output], feed)
    for r in range(args.repeats):
        order = list(range(len(models)))[:: 1 if r % 2 == 0 else -1]
        for k in order:
            t0 = time.process_time()
            models[k].session.run([models[k].meta.output], feed)
            cpu[k].append(time.process_time() - t0)
    ref = statistics.median(cpu[0])
    for m, p, c in zip(models, paths, cpu):
        med = statistics.median(c)
        print(f"{str(p):40s} {m.meta.precision}  {1000 * med / 2:6.1f} ms of CPU a face (median of {len(c)})  "
              f"{ref / med:4.2f}x the first")  # fmt: skip
        if args.profile:
            for op, ms, n in profile(p, feed, args.threads):
                print(f"    {op:24s} {ms:7.2f} ms a call  ({n} nodes)")


if __name__ == "__main__":
    main()
