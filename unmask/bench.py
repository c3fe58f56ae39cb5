"""Speed and memory of the restoring pipeline and of the generator alone. Never prints; ``unmask bench`` renders.

* :func:`bench_folder`: a folder run through the real path (:func:`unmask.batch.process`: read, detect +
  landmarks, align, infer, blend, write), seconds per stage, photos/s, faces/s, and resident memory sampled
  by a background thread (peak, and its drift over the run).
* :func:`bench_generator`: the generator alone on one batch of faces, in ONNX Runtime and in PyTorch eager
  (same inputs, batch and threads), as a ratio; with :func:`count_macs` (multiply-adds per face read from the
  ONNX graph) turned into achieved multiply-adds per second.
* :func:`scaling_faces`, :func:`scaling_size`, :func:`scaling_batch`, :func:`memory_probe`: 1 vs 8 faces in
  one photo, 0.3 to 24 megapixels, batch size, and peak memory of a fresh process restoring a 24-megapixel
  photo with ten faces.
* :func:`check_targets`: the targets of the benchmark issue next to the measurements.

Array conventions: images HxWx3 uint8 RGB, masks HxW uint8 with 255 = hole. Torch and onnx are imported only
by the functions that need them (the PyTorch side and the multiply-add count).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import onnx

    from unmask.pipeline import Restorer
    from unmask.runtime import Model
    from unmask.spec import ModelMeta

STAGES = ("read", "detect+landmarks", "align", "infer", "blend", "write")
"""Stages of a folder run, in order; what is left of the wall time is reported as ``other``."""

MIB = 1024 * 1024

# Targets of the benchmark issue (2-core CPU, default models).
TARGET_AROUND_SHARE = 0.35  # everything but the generator, of the wall time of a folder run
TARGET_ORT_SPEEDUP = 1.5  # ONNX Runtime vs PyTorch eager
TARGET_EIGHT_FACES = 3.0  # cost of 8 faces in one photo vs 1
TARGET_24MP = 2.0  # 24-megapixel photo vs 1-megapixel, one face
TARGET_PEAK_MIB = 1.5 * 1024  # 24 MP with 10 faces
TARGET_FLAT_MIB = 32.0  # resident memory drift allowed over a folder run
FLAT_PHOTOS = 1000  # the run length the flatness target speaks of
NEEDS_SCALING = "not measured (--scaling)"


# -- memory -----------------------------------------------------------------------------------------------------
def current_rss() -> int:
    """Resident set size of this process in bytes (``/proc/self/statm``; elsewhere the peak so far, or 0)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError, AttributeError):
        return _ru_maxrss()


def peak_rss() -> int:
    """Peak resident set size of this process image, in bytes: ``VmHWM`` of ``/proc/self/status`` where it
    exists, else ``getrusage``'s ``ru_maxrss`` (0 where neither exists). ``ru_maxrss`` survives ``exec``: a
    process spawned by a big parent starts with the parent's peak, so it cannot measure a fresh process alone."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return _ru_maxrss()


def _ru_maxrss() -> int:
    try:
        import resource
    except ImportError:  # Windows
        return 0
    r = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(r) if sys.platform == "darwin" else int(r) * 1024


class RssSampler:
    """Samples :func:`current_rss` every ``interval`` seconds in a daemon thread while in its ``with`` block;
    :attr:`peak` is the largest value seen (bytes), :attr:`start` the first."""

    def __init__(self, interval: float = 0.02) -> None:
        self.interval = interval
        self.start = current_rss()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="rss-sampler", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, current_rss())

    def __enter__(self) -> "RssSampler":
        self.start = current_rss()
        self.peak = self.start
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, current_rss())


def load_average() -> tuple[float, float, float] | None:
    """``os.getloadavg()`` where the platform has it."""
    try:
        return os.getloadavg()
    except (AttributeError, OSError):
        return None


# -- a folder run --------------------------------------------------------------------------------------------------
@dataclass
class FolderBench:
    """A folder run. ``stages``: seconds per stage summed over photos (only photos that were restored report
    stages; the rest of the wall time is ``other``); ``rss``: resident bytes after each photo; ``rss_peak``: the
    sampled peak during the run; ``rss_start``: before the first photo."""

    photos: int
    restored: int
    faces: int
    failed: int
    wall: float
    stages: dict[str, float]
    rss_start: int
    rss_peak: int
    rss: list[int] = field(default_factory=list)

    @property
    def other(self) -> float:
        return max(0.0, self.wall - sum(self.stages.values()))

    @property
    def photos_per_s(self) -> float:
        return self.photos / self.wall if self.wall > 0 else 0.0

    @property
    def faces_per_s(self) -> float:
        return self.faces / self.wall if self.wall > 0 else 0.0

    @property
    def around_share(self) -> float:
        """Share of the wall time spent outside the generator (everything but ``infer``)."""
        return 1.0 - self.stages.get("infer", 0.0) / self.wall if self.wall > 0 else 0.0

    @property
    def rss_drift(self) -> int:
        """Resident bytes after the last photo minus after the photo at 10% of the run (warm-up excluded)."""
        if len(self.rss) < 2:
            return 0
        return self.rss[-1] - self.rss[max(1, len(self.rss) // 10) - 1]

    def to_dict(self) -> dict[str, Any]:
        return {
            "photos": self.photos,
            "restored": self.restored,
            "faces": self.faces,
            "failed": self.failed,
            "wall_s": round(self.wall, 4),
            "stages_s": {k: round(v, 5) for k, v in self.stages.items()} | {"other": round(self.other, 5)},
            "photos_per_s": round(self.photos_per_s, 3),
            "faces_per_s": round(self.faces_per_s, 3),
            "around_generator_share": round(self.around_share, 4),
            "rss_start_mib": round(self.rss_start / MIB, 1),
            "rss_peak_mib": round(self.rss_peak / MIB, 1),
            "rss_drift_mib": round(self.rss_drift / MIB, 2),
        }


def bench_folder(
    photos: Sequence[str | Path],
    restorer: "Restorer",
    out_dir: str | Path,
    on_photo: Callable[[int, int], None] | None = None,
) -> FolderBench:
    """Restores every photo of ``photos`` with ``restorer`` through :func:`unmask.batch.process`, writing into
    ``out_dir`` (outputs overwritten), and times it."""
    from unmask.batch import BatchOptions, process
    from unmask.inputs import Job

    out_dir = Path(out_dir)
    options = BatchOptions(overwrite=True)
    stages = {s: 0.0 for s in STAGES}
    rss: list[int] = []
    restored = faces = failed = 0
    with RssSampler() as sampler:
        t0 = time.perf_counter()
        for i, p in enumerate(photos):
            p = Path(p)
            rec = process(Job(p, out_dir / f"{i:05d}-{p.name}"), restorer, options)
            for k, v in rec.timings.items():
                stages[k] = stages.get(k, 0.0) + v
            restored += rec.status == "restored"
            failed += rec.status == "failed"
            faces += sum(f.get("status") == "restored" for f in rec.faces)
            rss.append(current_rss())
            if on_photo is not None:
                on_photo(i + 1, len(photos))
        wall = time.perf_counter() - t0
    return FolderBench(len(photos), restored, faces, failed, wall, stages, sampler.start, sampler.peak, rss)


# -- multiply-adds ---------------------------------------------------------------------------------------------
@dataclass
class MacCount:
    """Multiply-adds of one run of an ONNX graph at ``batch``: ``total``, per op type ``by_op``, and the nodes of
    counted types whose shapes could not be inferred (``unknown``: their cost is missing from ``total``)."""

    total: int
    by_op: dict[str, int]
    batch: int
    unknown: list[str] = field(default_factory=list)

    @property
    def per_face(self) -> float:
        return self.total / self.batch


COUNTED_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def _static_inputs(model: "onnx.ModelProto", batch: int) -> None:
    """Fixes every symbolic dimension of the graph inputs: the first to ``batch``; others are an error."""
    inits = {i.name for i in model.graph.initializer}
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        for k, d in enumerate(inp.type.tensor_type.shape.dim):
            if d.HasField("dim_value") and d.dim_value > 0:
                continue
            if k != 0:
                raise ValueError(f"input {inp.name!r} has a symbolic dimension {k} ({d.dim_param!r}) other than the batch")
            d.ClearField("dim_param")
            d.dim_value = batch


def _shapes(model: "onnx.ModelProto") -> dict[str, tuple[int, ...] | None]:
    from onnx import numpy_helper

    def dims(vi: Any) -> tuple[int, ...] | None:
        t = vi.type.tensor_type
        if not t.HasField("shape"):
            return None
        out = []
        for d in t.shape.dim:
            if not d.HasField("dim_value"):
                return None
            out.append(int(d.dim_value))
        return tuple(out)

    g = model.graph
    shapes: dict[str, tuple[int, ...] | None] = {}
    for vi in [*g.input, *g.value_info, *g.output]:
        shapes[vi.name] = dims(vi)
    for init in g.initializer:
        shapes[init.name] = tuple(int(d) for d in init.dims)
    for node in g.node:
        if node.op_type == "Constant":
            for a in node.attribute:
                if a.name == "value":
                    shapes[node.output[0]] = tuple(numpy_helper.to_array(a.t).shape)
    return shapes


def count_macs(model: "str | Path | onnx.ModelProto", batch: int = 1) -> MacCount:
    """Multiply-adds of one run at ``batch`` (the graph's symbolic batch dimension fixed to it), counted over
    Conv, ConvTranspose, MatMul and Gemm nodes from the shapes ONNX shape inference gives (bias additions,
    activations, normalisations and resampling are not counted: they are a few percent of a conv net).

    Conv: output elements x input channels per group x kernel area. ConvTranspose: input elements x output
    channels per group x kernel area. MatMul: output elements x the shared dimension. Gemm: M x N x K.
    Needs the ``onnx`` package (the ``train`` extra)."""
    import onnx
    from onnx import shape_inference

    proto = onnx.load(str(model)) if isinstance(model, (str, Path)) else onnx.ModelProto.FromString(model.SerializeToString())
    _static_inputs(proto, batch)
    proto = shape_inference.infer_shapes(proto, strict_mode=False, data_prop=True)
    shapes = _shapes(proto)
    by_op: dict[str, int] = {}
    unknown: list[str] = []
    for node in proto.graph.node:
        if node.op_type not in COUNTED_OPS:
            continue
        ins = [shapes.get(n) for n in node.input]
        outs = [shapes.get(n) for n in node.output]
        macs = _node_macs(node, ins, outs)
        if macs is None:
            unknown.append(node.name or f"{node.op_type}:{node.output[0]}")
            continue
        by_op[node.op_type] = by_op.get(node.op_type, 0) + macs
    return MacCount(sum(by_op.values()), by_op, batch, unknown)


def _node_macs(node: Any, ins: list, outs: list) -> int | None:
    op = node.op_type
    if op == "Conv":
        w, y = (ins[1] if len(ins) > 1 else None), outs[0]
        if w is None or y is None:
            return None
        return int(np.prod(y)) * int(np.prod(w[1:]))
    if op == "ConvTranspose":
        x, w = ins[0], (ins[1] if len(ins) > 1 else None)
        if x is None or w is None:
            return None
        return int(np.prod(x)) * int(np.prod(w[1:]))
    if op == "MatMul":
        a, y = ins[0], outs[0]
        if a is None or y is None:
            return None
        return int(np.prod(y)) * int(a[-1])
    if op == "Gemm":
        a, y = ins[0], outs[0]
        if a is None or y is None:
            return None
        trans_a = next((at.i for at in node.attribute if at.name == "transA"), 0)
        k = a[0] if trans_a else a[1]
        return int(np.prod(y)) * int(k)
    return None


# -- the generator alone -------------------------------------------------------------------------------------------
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
    from unmask import archs

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
) -> GeneratorBench:
    """Times ``model`` (an :class:`unmask.runtime.Model`) on one batch of ``batch`` faces in ONNX Runtime, and
    ``eager`` (a torch module taking the same tensors, e.g. from :func:`eager_generator`) in PyTorch eager with
    the same inputs and ``threads`` (0 = all cores; the model's session should have been made with the same).
    ``eager_note`` explains a missing ``eager``; ``eager_weights`` describes its weights; ``compare``: the eager
    weights are the ONNX file's own (from its checkpoint), so the outputs are compared (``max_abs_diff``).
    ``count``: also count multiply-adds (:func:`count_macs`)."""
    from unmask.runtime.session import CUDA

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
    with _TorchThreads(threads if eager is not None else 0):
        times = _interleaved(runners, repeats, warmup)
    t = times[0]
    res = GeneratorBench(batch, threads, "cuda" if on_cuda else "cpu", repeats, statistics.median(t), min(t),
                         eager_note=eager_note, eager_weights=eager_weights)
    if eager_run is not None:
        res.eager_s, res.eager_min_s = statistics.median(times[1]), min(times[1])
        if compare:
            res.max_abs_diff = float(np.abs(eager_run.output() - ort_out[0]).max())
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


# -- scaling -----------------------------------------------------------------------------------------------------
def tile(rgb: np.ndarray, rows: int, cols: int, faces: int) -> np.ndarray:
    """A ``rows x cols`` grid of cells of ``rgb``'s size whose first ``faces`` cells hold ``rgb`` and the rest its
    mean colour (same canvas whatever ``faces``, so only the number of faces changes)."""
    h, w = rgb.shape[:2]
    fill = rgb.reshape(-1, 3).mean(0).astype(np.uint8)
    canvas = np.empty((rows * h, cols * w, 3), np.uint8)
    canvas[:] = fill
    for k in range(min(faces, rows * cols)):
        r, c = divmod(k, cols)
        canvas[r * h : (r + 1) * h, c * w : (c + 1) * w] = rgb
    return canvas


def resize_to(rgb: np.ndarray, megapixels: float) -> np.ndarray:
    """``rgb`` resized (aspect kept) to about ``megapixels`` million pixels."""
    import cv2

    h, w = rgb.shape[:2]
    k = (megapixels * 1e6 / (h * w)) ** 0.5
    size = (max(16, round(w * k)), max(16, round(h * k)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_CUBIC if k > 1 else cv2.INTER_AREA)


def group_canvas(rgb: np.ndarray, megapixels: float, faces: int, cols: int = 5) -> np.ndarray:
    """A canvas of about ``megapixels`` (3:2) holding ``faces`` copies of ``rgb``, each resized to fill a cell of
    a ``ceil(faces / cols) x cols`` grid, on a :func:`background`."""
    import cv2

    rows = -(-faces // cols)
    width = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    height = int(round(width / 1.5))
    cw, ch = width // cols, height // rows
    h, w = rgb.shape[:2]
    k = min(cw / w, ch / h)
    face = cv2.resize(rgb, (int(w * k), int(h * k)), interpolation=cv2.INTER_CUBIC)
    canvas = background(rgb, width, height)
    fh, fw = face.shape[:2]
    for i in range(faces):
        r, c = divmod(i, cols)
        y0, x0 = r * ch + (ch - fh) // 2, c * cw + (cw - fw) // 2
        canvas[y0 : y0 + fh, x0 : x0 + fw] = face
    return canvas


@dataclass
class Timed:
    """A scaling point: ``label``, median seconds of ``restore`` (in memory: detect, align, infer, blend) and,
    where files were involved, of the whole ``read`` + restore + ``write`` (``total``); ``faces`` restored."""

    label: str
    restore_s: float
    faces: int
    total_s: float | None = None
    read_s: float | None = None
    write_s: float | None = None
    pixels: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def _restore_time(restorer: "Restorer", rgb: np.ndarray, repeats: int) -> tuple[float, int]:
    times, faces = [], 0
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = restorer.restore(rgb)
        times.append(time.perf_counter() - t0)
        faces = res.restored
    return statistics.median(times), faces


def scaling_faces(face_rgb: np.ndarray, restorer: "Restorer", counts: Sequence[int] = (1, 8), rows: int = 2,
                  cols: int = 4, repeats: int = 3) -> list[Timed]:
    """Restore time of a ``rows x cols`` canvas of ``face_rgb`` cells holding each of ``counts`` faces."""
    out = []
    for k in counts:
        canvas = tile(face_rgb, rows, cols, k)
        s, found = _restore_time(restorer, canvas, repeats)
        out.append(Timed(f"{k} face" + ("s" if k != 1 else ""), s, found, pixels=canvas.shape[0] * canvas.shape[1]))
    return out


def background(rgb: np.ndarray, width: int, height: int, seed: int = 0) -> np.ndarray:
    """A ``height x width`` smooth colour field of ``rgb``'s colours with mild grain: no face in it, and
    JPEG-coded about like a real photo (a flat fill would compress, decode and encode unrealistically fast)."""
    import cv2

    small = cv2.resize(rgb, (6, 4), interpolation=cv2.INTER_AREA)
    canvas = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    grain = np.random.default_rng(seed).integers(-6, 7, (height, width, 1), dtype=np.int16)
    return np.clip(canvas.astype(np.int16) + grain, 0, 255).astype(np.uint8)


def on_canvas(rgb: np.ndarray, megapixels: float, seed: int = 0) -> np.ndarray:
    """``rgb`` unchanged in the middle of a 3:2 canvas of about ``megapixels`` million pixels (:func:`background`)."""
    width = int(round((megapixels * 1e6 * 1.5) ** 0.5))
    height = int(round(width / 1.5))
    h, w = rgb.shape[:2]
    canvas = background(rgb, max(width, w), max(height, h), seed)
    y0, x0 = (canvas.shape[0] - h) // 2, (canvas.shape[1] - w) // 2
    canvas[y0 : y0 + h, x0 : x0 + w] = rgb
    return canvas


def scaling_size(face_rgb: np.ndarray, restorer: "Restorer", folder: str | Path,
                 megapixels: Sequence[float] = (0.3, 1, 4, 12, 24), canvas: Sequence[float] = (24,),
                 base: float = 1.0, repeats: int = 3) -> list[Timed]:
    """Per size in ``megapixels``: ``face_rgb`` resized to it (the face grows with the photo, labelled "N MP");
    per size in ``canvas``: ``face_rgb`` resized to ``base`` megapixels in the middle of a larger canvas (the same
    face, more photo around it, labelled "N MP canvas"). Each is saved as JPEG in ``folder`` and timed in memory
    (restore) and through files (:func:`unmask.batch.process`: read, restore, write); medians of ``repeats``."""
    from PIL import Image

    from unmask.batch import BatchOptions, process
    from unmask.inputs import Job

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cases = [(f"{mp:g} MP", lambda mp=mp: resize_to(face_rgb, mp)) for mp in megapixels]
    cases += [(f"{mp:g} MP canvas", lambda mp=mp: on_canvas(resize_to(face_rgb, base), mp)) for mp in canvas]
    out = []
    for label, make in cases:
        img = make()
        src = folder / (label.replace(" ", "-") + ".jpg")
        Image.fromarray(img).save(src, quality=92)
        s, found = _restore_time(restorer, img, repeats)
        pixels = img.shape[0] * img.shape[1]
        del img
        totals, reads, writes = [], [], []
        for _ in range(repeats):
            rec = process(Job(src, folder / "out" / src.name), restorer, BatchOptions(overwrite=True))
            totals.append(rec.seconds)
            reads.append(rec.timings.get("read", 0.0))
            writes.append(rec.timings.get("write", 0.0))
        out.append(Timed(label, s, found, statistics.median(totals), statistics.median(reads),
                         statistics.median(writes), pixels))
    return out


def scaling_batch(model: "Model", batches: Sequence[int] = (1, 4, 8), threads: int = 0, repeats: int = 5) -> list[GeneratorBench]:
    """The generator alone (ONNX Runtime) at each batch size."""
    return [bench_generator(model, b, threads, repeats, warmup=1, count=False) for b in batches]


def _probe(model_ref: str, region: str, photo: str, out: str, device: str, threads: int, conn: Any) -> None:
    """Child side of :func:`memory_probe` (module level so ``spawn`` can import it)."""
    try:
        from unmask.batch import BatchOptions, process
        from unmask.inputs import Job
        from unmask.pipeline import Restorer

        model = load_inpainter(model_ref, device, threads)
        with Restorer({region: model}, region=region, force=True) as restorer:
            before = current_rss()
            rec = process(Job(Path(photo), Path(out)), restorer, BatchOptions(overwrite=True))
        conn.send({"peak": peak_rss(), "before": before, "status": rec.status, "error": rec.error,
                   "faces": sum(f.get("status") == "restored" for f in rec.faces), "seconds": rec.seconds})
    except Exception as e:  # noqa: BLE001 - reported to the parent
        conn.send({"error": f"{type(e).__name__}: {e}"})
    finally:
        conn.close()


@dataclass
class MemoryProbe:
    """Peak resident memory (bytes, ``getrusage``) of a fresh process that loads the model and restores one
    photo from file to file; ``before``: resident bytes after loading, before the photo."""

    megapixels: float
    faces_in_photo: int
    faces: int
    peak: int
    before: int
    seconds: float
    status: str

    def to_dict(self) -> dict[str, Any]:
        return {"megapixels": self.megapixels, "faces_in_photo": self.faces_in_photo, "faces": self.faces,
                "peak_mib": round(self.peak / MIB, 1), "before_photo_mib": round(self.before / MIB, 1),
                "seconds": round(self.seconds, 3), "status": self.status}


def memory_probe(model_ref: str, region: str, photo: str | Path, out: str | Path, device: str = "cpu",
                 threads: int = 0, timeout: float = 300.0) -> dict[str, Any]:
    """Restores ``photo`` into ``out`` in a fresh ``spawn``-ed process (so nothing this process loaded, such as
    torch, counts) and returns its peak memory: ``{"peak", "before", "status", "error", "faces", "seconds"}``.
    ``model_ref``: an ONNX path or a baseline name (:func:`load_inpainter`)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_probe, args=(model_ref, region, str(photo), str(out), device, threads, child), daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise TimeoutError(f"memory probe did not finish in {timeout:.0f} s")
        result = parent.recv()
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
    if "peak" not in result:
        raise RuntimeError(f"memory probe failed: {result.get('error')}")
    return result


def probe_group_photo(face_rgb: np.ndarray, model_ref: str, region: str, folder: str | Path, megapixels: float = 24,
                      faces: int = 10, device: str = "cpu", threads: int = 0) -> MemoryProbe:
    """:func:`memory_probe` on a ``megapixels`` JPEG holding ``faces`` copies of ``face_rgb``."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / f"group-{megapixels:g}mp-{faces}faces.jpg"
    canvas = group_canvas(face_rgb, megapixels, faces)
    Image.fromarray(canvas).save(src, quality=92)
    del canvas
    r = memory_probe(model_ref, region, src, folder / "out" / src.name, device, threads)
    return MemoryProbe(megapixels, faces, int(r["faces"]), int(r["peak"]), int(r["before"]), float(r["seconds"]),
                       str(r["status"]))


# -- models and baselines ---------------------------------------------------------------------------------------
def load_inpainter(ref: str, device: str = "auto", threads: int = 0) -> Any:
    """A baseline (``telea``, ``ns``, ``none``) by name, else an ONNX model by name or path
    (:func:`unmask.runtime.find_model`), ready for a :class:`unmask.pipeline.Restorer`."""
    from unmask.baselines import BASELINES, Baseline
    from unmask.evaluate import as_inpainter
    from unmask.runtime import find_model, load_model

    if ref in BASELINES and not Path(ref).exists():
        return as_inpainter(Baseline(ref))
    return load_model(find_model(ref, None), device, threads)


def demo_photos(folder: str | Path, n: int) -> list[Path]:
    """``n`` copies of scikit-image's public-domain astronaut portrait (512x512, one face) as JPEG in
    ``folder``, for a benchmark when no folder is given."""
    from PIL import Image
    from skimage import data

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    img = Image.fromarray(data.astronaut())
    paths = []
    for i in range(n):
        p = folder / f"astronaut-{i:04d}.jpg"
        img.save(p, quality=92)
        paths.append(p)
    return paths


# -- the targets ------------------------------------------------------------------------------------------------
@dataclass
class Target:
    """A target of the benchmark issue next to what was measured; ``passed`` is None when not measured."""

    name: str
    limit: str
    measured: str
    passed: bool | None
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class BenchReport:
    """Everything one ``unmask bench`` run measured; sections not run are None."""

    model: dict[str, Any]
    threads: int
    device: str
    folder: FolderBench | None = None
    generator: GeneratorBench | None = None
    faces: list[Timed] | None = None
    sizes: list[Timed] | None = None
    batches: list[GeneratorBench] | None = None
    memory: MemoryProbe | None = None
    notes: list[str] = field(default_factory=list)
    load: tuple[float, float, float] | None = field(default_factory=lambda: load_average())
    """The machine's 1, 5 and 15 minute load averages when the benchmark started (other work skews timings)."""

    def targets(self) -> list[Target]:
        return check_targets(self)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "threads": self.threads,
            "device": self.device,
            "folder": None if self.folder is None else self.folder.to_dict(),
            "generator": None if self.generator is None else self.generator.to_dict(),
            "scaling": None if self.faces is None and self.sizes is None and self.batches is None and self.memory is None else {
                "faces": None if self.faces is None else [t.to_dict() for t in self.faces],
                "sizes": None if self.sizes is None else [t.to_dict() for t in self.sizes],
                "batches": None if self.batches is None else [b.to_dict() for b in self.batches],
                "memory": None if self.memory is None else self.memory.to_dict(),
            },
            "targets": [t.to_dict() for t in self.targets()],
            "notes": self.notes,
            "cpu_count": os.cpu_count(),
            "load_average": None if self.load is None else [round(v, 2) for v in self.load],
        }


def _find(points: Iterable[Timed] | None, label: str) -> Timed | None:
    return next((t for t in points or [] if t.label == label), None)


def check_targets(report: BenchReport) -> list[Target]:
    """The issue's targets, each with what this report measured (``passed`` None where it did not)."""
    out: list[Target] = []
    f = report.folder
    baseline = report.model.get("arch") == "baseline"
    out.append(Target(
        "around the generator (read, detect, align, blend, write)", f"<= {TARGET_AROUND_SHARE:.0%} of wall time",
        "-" if f is None else f"{f.around_share:.0%}",
        None if f is None or baseline else f.around_share <= TARGET_AROUND_SHARE,
        "not judged: the model is a classic baseline, the target is for generators" if baseline and f else ""))
    g = report.generator
    r = None if g is None else g.ratio
    rb = None if g is None else g.ratio_best
    out.append(Target(
        "ONNX Runtime vs PyTorch eager", f">= {TARGET_ORT_SPEEDUP:g}x faster",
        "-" if r is None else f"{r:.2f}x (medians), {rb:.2f}x (fastest runs)",
        None if r is None or rb is None else min(r, rb) >= TARGET_ORT_SPEEDUP,
        "" if g is None else (g.eager_weights.split(":")[0].split(" (")[0] if g.eager_s is not None else g.eager_note)))
    one, eight = _find(report.faces, "1 face"), _find(report.faces, "8 faces")
    k8 = None if one is None or eight is None else eight.restore_s / one.restore_s
    out.append(Target("8 faces in one photo vs 1", f"<= {TARGET_EIGHT_FACES:g}x",
                      "-" if k8 is None else f"{k8:.2f}x", None if k8 is None else k8 <= TARGET_EIGHT_FACES,
                      "" if report.faces is not None else NEEDS_SCALING))
    mp1 = _find(report.sizes, "1 MP")
    for label, what in (("24 MP", "face scaled with the photo"), ("24 MP canvas", "the 1 MP photo on a 24 MP canvas")):
        big = _find(report.sizes, label)
        k = None
        if mp1 is not None and big is not None and mp1.total_s and big.total_s:
            k = big.total_s / mp1.total_s
        out.append(Target(f"24 MP photo vs 1 MP, one face ({what}; read + restore + write)", f"<= {TARGET_24MP:g}x",
                          "-" if k is None else f"{k:.2f}x", None if k is None else k <= TARGET_24MP,
                          "" if report.sizes is not None else NEEDS_SCALING))
    m = report.memory
    out.append(Target(
        "peak memory, 24 MP photo with 10 faces", f"< {TARGET_PEAK_MIB / 1024:g} GiB",
        "-" if m is None else f"{m.peak / MIB:.0f} MiB ({m.faces}/{m.faces_in_photo} faces restored)",
        None if m is None else m.peak < TARGET_PEAK_MIB * MIB and m.status == "restored",
        "" if m is not None else NEEDS_SCALING))
    out.append(Target(
        f"memory flat over {FLAT_PHOTOS:,} photos", f"drift <= {TARGET_FLAT_MIB:g} MiB",
        "-" if f is None else f"{f.rss_drift / MIB:+.1f} MiB over {f.photos} photos",
        None if f is None or f.photos < 2 else f.rss_drift <= TARGET_FLAT_MIB * MIB,
        "" if f is None or f.photos >= FLAT_PHOTOS else f"measured over {f.photos} photos, not {FLAT_PHOTOS:,} (--n)"))
    return out


def temp_dir(prefix: str = "unmask-bench-") -> tempfile.TemporaryDirectory:
    """A temporary folder for benchmark outputs (removed when the returned object is cleaned up)."""
    return tempfile.TemporaryDirectory(prefix=prefix)
