"""Multi-process training helpers: process-group setup from ``torchrun``'s environment (gloo on CPU, nccl on
CUDA), rank-0-only side effects and small collectives. A single process (no ``WORLD_SIZE`` > 1) needs none of it
and every helper degrades to a no-op.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    """``rank`` of this process among ``world_size``; ``local_rank`` picks its GPU; ``backend`` is ``""`` alone."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    backend: str = ""

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def env_world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def init(device_type: str) -> DistInfo:
    """Joins the process group described by ``torchrun``'s environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
    ``MASTER_ADDR``, ``MASTER_PORT``); ``device_type`` ``"cuda"`` selects nccl, anything else gloo."""
    world = env_world_size()
    if world <= 1:
        return DistInfo()
    rank = int(os.environ["RANK"])
    local = int(os.environ.get("LOCAL_RANK", rank))
    backend = "nccl" if device_type == "cuda" else "gloo"
    if device_type == "cuda":
        torch.cuda.set_device(local)
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return DistInfo(rank=rank, world_size=world, local_rank=local, backend=backend)


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def any_flags(info: DistInfo, flags: list[bool], device: torch.device) -> list[bool]:
    """Per flag: true on every rank when it is true on any rank (so all ranks skip or stop at the same step)."""
    if not info.enabled:
        return list(flags)
    t = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return [bool(v > 0) for v in t.tolist()]


def mean_logs(info: DistInfo, logs: dict[str, float], device: torch.device) -> dict[str, float]:
    """Averages logged scalars over ranks (same keys on every rank)."""
    if not info.enabled or not logs:
        return logs
    keys = sorted(logs)
    t = torch.tensor([float(logs[k]) for k in keys], device=device, dtype=torch.float64)
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return {k: float(v) / info.world_size for k, v in zip(keys, t.tolist())}


def gather(info: DistInfo, obj: Any) -> list[Any]:
    """Every rank's ``obj`` (picklable), in rank order, on every rank."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast(info: DistInfo, obj: Any) -> Any:
    """Rank 0's ``obj`` on every rank."""
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sync_buffers(info: DistInfo, *modules: torch.nn.Module) -> None:
    """Copies rank 0's buffers (e.g. batch-norm running statistics, which each rank updates from its own data
    after DDP's per-forward broadcast) to every rank, so all ranks hold the model rank 0 checkpoints."""
    if not info.enabled:
        return
    for m in modules:
        for b in m.buffers():
            dist.broadcast(b.data, src=0)
