"""The generator alone on one batch of faces, in ONNX Runtime and in PyTorch eager (same inputs, batch and
threads), as a ratio; with :func:`unmask.measure.macs.count_macs` (multiply-adds per face read from the ONNX graph)
turned into achieved multiply-adds per second. Never prints; ``unmask bench`` renders.

Torch is imported only by the PyTorch side.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from unmask.measure.macs import count_macs

if TYPE_CHECKING:  # pragma: no cover
    from unmask.infer.runtime import Model
    from unmask.spec import ModelMeta


def resolve_threads(threads: int) -> int:
    """``threads`` or, for 0, the number of CPU cores (so ONNX Runtime and PyTorch get the same count)."""
    return threads if threads > 0 else (os.cpu_count() or 1)


def generator_inputs(size: int, batch: int, seed: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``batch`` crops (SxSx3 uint8, smooth random colour fields) and holes (SxS uint8: a band across the upper
    middle, like an eye bar) for timing a generator; timing does not depend on their content."""
    import cv2

    rng = np.random.default_rng(seed)
    crops, holes = [], []
    for _ in range(batch):
        small = rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)
        crops.append(cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC))
        h = np.zeros((size, size), np.uint8)
        h[int(0.33 * size) : int(0.5 * size), int(0.15 * size) : int(0.85 * size)] = 255
        holes.append(h)
    return crops, holes


@dataclass
class GeneratorBench:
    """One batch through the generator. Times are medians over ``repeats`` runs after ``warmup`` (seconds per
    batch), ONNX Runtime and PyTorch eager alternating run by run. ``eager_s`` is None when PyTorch eager could not run (``eager_note`` says why); ``max_abs_diff``
    compares the two outputs when the eager weights are the ONNX file's own (from its checkpoint)."""

    batch: int
    threads: int
    device: str
    repeats: int
    ort_s: float
    ort_min_s: float
    eager_s: float | None = None
    eager_min_s: float | None = None
    eager_note: str = ""
    eager_weights: str = ""
    max_abs_diff: float | None = None
    macs_per_face: float | None = None
    mac_note: str = ""
    int8_name: str = ""
    int8_s: float | None = None
    int8_min_s: float | None = None
    """The int8 copy of the model (``unmask quantize``) on the same batch, interleaved with the others (None: not
    timed)."""

    @property
    def int8_speedup(self) -> float | None:
        """float32 ONNX Runtime time / int8 time, medians (above 1: int8 is faster)."""
        return None if self.int8_s is None else self.ort_s / self.int8_s

    @property
    def int8_ms_per_face(self) -> float | None:
        return None if self.int8_s is None else 1000 * self.int8_s / self.batch

    @property
    def ratio(self) -> float | None:
        """PyTorch eager time / ONNX Runtime time, medians (above 1: ONNX Runtime is faster)."""
        return None if self.eager_s is None else self.eager_s / self.ort_s

    @property
    def ratio_best(self) -> float | None:
        """The same ratio of the fastest runs: what each runtime can do, least disturbed by other processes (on a
        shared machine the medians carry their load; on a quiet one both ratios agree)."""
        return None if self.eager_min_s is None else self.eager_min_s / self.ort_min_s

    @property
    def ort_ms_per_face(self) -> float:
        return 1000 * self.ort_s / self.batch

    @property
    def eager_ms_per_face(self) -> float | None:
        return None if self.eager_s is None else 1000 * self.eager_s / self.batch

    def gmacs(self, seconds: float | None) -> float | None:
        """Achieved giga multiply-adds per second for a batch time."""
        if seconds is None or self.macs_per_face is None or seconds <= 0:
            return None
        return self.macs_per_face * self.batch / seconds / 1e9

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(
            ratio=None if self.ratio is None else round(self.ratio, 3),
            ratio_best=None if self.ratio_best is None else round(self.ratio_best, 3),
            ort_ms_per_face=round(self.ort_ms_per_face, 3),
            eager_ms_per_face=None if self.eager_ms_per_face is None else round(self.eager_ms_per_face, 3),
            gmacs_per_face=None if self.macs_per_face is None else round(self.macs_per_face / 1e9, 4),
            gmac_per_s_ort=_r(self.gmacs(self.ort_s), 2),
            gmac_per_s_eager=_r(self.gmacs(self.eager_s), 2),
            int8_speedup=_r(self.int8_speedup, 3),
            int8_ms_per_face=_r(self.int8_ms_per_face, 3),
        )
        return d


def _r(v: float | None, nd: int) -> float | None:
    return None if v is None else round(v, nd)


def eager_generator(meta: "ModelMeta", checkpoint: str | Path | None = None) -> tuple[Any, str]:
    """The PyTorch module of the ONNX file's architecture, for timing eager execution, and a note on its weights.

    With ``checkpoint`` (a training run or ``.pt`` file, :func:`unmask.train.checkpoint.resolve`) it holds the
    trained weights; without, it is built from the arch registry at the file's preset with random weights, which
    times the same arithmetic (the speed of a dense network does not depend on its weight values). Raises
    ``ImportError`` without torch, ``KeyError`` for an arch not in the registry, ``ValueError`` when the preset's
    crop size differs from the file's."""
    from unmask.train import archs

    mod = archs.get(meta.arch)
    preset_name = meta.preset or mod.SPEC.default_preset
    state = None
    note = "random weights: same architecture and preset as the ONNX file (timing does not depend on weight values)"
    if checkpoint is not None:
        from unmask.train.checkpoint import load, resolve

        path = resolve(checkpoint)
        ckpt = load(path, arch=meta.arch)
        preset_name = str(ckpt["preset"])
        state = ckpt["G"]
        note = f"weights of {path} (step {ckpt.get('step', '?')})"
    preset = mod.SPEC.preset(preset_name)
    if preset.size != meta.size:
        raise ValueError(f"{meta.arch} preset {preset_name!r} is {preset.size} px but the ONNX file is {meta.size} px")
    G = mod.build_generator(preset)
    if state is not None:
        from unmask.train.checkpoint import load_module_state

        load_module_state(G, state, str(checkpoint), "generator")
    G.eval()
    return G, note


def bench_generator(
    model: "Model",
    batch: int = 1,
    threads: int = 0,
    repeats: int = 10,
    warmup: int = 2,
    eager: Any = None,
    eager_note: str = "",
    eager_weights: str = "",
    compare: bool = False,
    count: bool = True,
    int8: "Model | None" = None,
) -> GeneratorBench:
    """Times ``model`` (an :class:`unmask.infer.runtime.Model`) on one batch of ``batch`` faces in ONNX Runtime, and
    ``eager`` (a torch module taking the same tensors, e.g. from :func:`eager_generator`) in PyTorch eager with
    the same inputs and ``threads`` (0 = all cores; the model's session should have been made with the same).
    ``eager_note`` explains a missing ``eager``; ``eager_weights`` describes its weights; ``compare``: the eager
    weights are the ONNX file's own (from its checkpoint), so the outputs are compared (``max_abs_diff``).
    ``count``: also count multiply-adds (:func:`unmask.measure.macs.count_macs`); ``int8``: the model's int8 copy,
    timed on the same feed in the same interleaved rounds."""
    from unmask.infer.runtime.session import CUDA

    threads = resolve_threads(threads)
    crops, holes = generator_inputs(model.size, batch)
    feed = model.to_tensors(crops, holes)
    on_cuda = CUDA in model.providers
    ort_out: list[np.ndarray] = []

    def run_ort() -> None:
        ort_out[:] = model.session.run([model.meta.output], feed)

    runners = [run_ort]
    eager_run = None
    if eager is not None:
        eager_run = _EagerRunner(eager, feed, model.meta.inputs, on_cuda)
        runners.append(eager_run)
    if int8 is not None:
        runners.append(lambda: int8.session.run([int8.meta.output], feed))
    with _TorchThreads(threads if eager is not None else 0):
        times = _interleaved(runners, repeats, warmup)
    t = times[0]
    res = GeneratorBench(
        batch,
        threads,
        "cuda" if on_cuda else "cpu",
        repeats,
        statistics.median(t),
        min(t),
        eager_note=eager_note,
        eager_weights=eager_weights,
    )
    if eager_run is not None:
        res.eager_s, res.eager_min_s = statistics.median(times[1]), min(times[1])
        if compare:
            res.max_abs_diff = float(np.abs(eager_run.output() - ort_out[0]).max())
    if int8 is not None:
        res.int8_name, res.int8_s, res.int8_min_s = int8.name, statistics.median(times[-1]), min(times[-1])
    if count:
        try:
            macs = count_macs(model.path, batch=1)
            res.macs_per_face = float(macs.total)
            if macs.unknown:
                res.mac_note = f"{len(macs.unknown)} nodes without inferred shapes not counted"
        except ImportError:
            res.mac_note = "multiply-adds need the onnx package (pip install 'unmask[train]')"
        except Exception as e:  # noqa: BLE001 - a graph shape inference cannot handle: report, do not fail
            res.mac_note = f"multiply-adds not counted ({type(e).__name__}: {str(e).splitlines()[0][:120]})"
    return res


def _interleaved(runners: Sequence[Callable[[], Any]], repeats: int, warmup: int, rounds: int = 4) -> list[list[float]]:
    """Seconds per call of each runner, ``repeats`` calls each, in ``rounds`` alternating blocks (A A A, B B B,
    A A A, ...) so that a change in the machine's load hits every runner alike. Each block starts with one
    untimed call: the previous runner's thread pool may still be spinning. ``warmup`` untimed calls per runner
    come first."""
    for run in runners:
        for _ in range(warmup):
            run()
    times: list[list[float]] = [[] for _ in runners]
    rounds = max(1, min(rounds, repeats))
    for r in range(rounds):
        block = repeats // rounds + (r < repeats % rounds)
        for k, run in enumerate(runners):
            if len(runners) > 1:
                run()
            for _ in range(block):
                t0 = time.perf_counter()
                run()
                times[k].append(time.perf_counter() - t0)
    return times


class _TorchThreads:
    """Sets PyTorch's intra-op threads inside the block (0: leave as is) and restores them after."""

    def __init__(self, threads: int) -> None:
        self.threads = threads
        self.saved = 0

    def __enter__(self) -> None:
        if self.threads:
            import torch

            self.saved = torch.get_num_threads()
            torch.set_num_threads(self.threads)

    def __exit__(self, *exc: object) -> None:
        if self.threads:
            import torch

            torch.set_num_threads(self.saved)


class _EagerRunner:
    """One call of a torch module on the feed's tensors (``inference_mode``; synchronised on CUDA)."""

    def __init__(self, module: Any, feed: Mapping[str, np.ndarray], inputs: Sequence[str], cuda: bool) -> None:
        import torch

        self.torch = torch
        self.device = torch.device("cuda" if cuda and torch.cuda.is_available() else "cpu")
        self.module = module.to(self.device)
        self.xs = [torch.from_numpy(np.ascontiguousarray(feed[k])).to(self.device) for k in inputs]
        self.y: Any = None

    def __call__(self) -> None:
        with self.torch.inference_mode():
            self.y = self.module(*self.xs)
        if self.device.type == "cuda":
            self.torch.cuda.synchronize()

    def output(self) -> np.ndarray:
        y = self.y[0] if isinstance(self.y, (tuple, list)) else self.y
        return y.float().cpu().numpy()
