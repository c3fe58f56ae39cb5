"""unmask.infer.flip: a model's result averaged with its result on the mirrored face."""

from __future__ import annotations

import numpy as np

from unmask.edges import EdgeGuide
from unmask.infer.flip import FlipAveraged

S = 32


class Ramp:
    """Paints every crop with a left-to-right ramp (a model whose guess depends on the side it looks from) and
    records the batch sizes it was called with."""

    name = "ramp"
    size = S
    takes_edges = False

    def __init__(self) -> None:
        self.calls: list[int] = []

    def run(self, crops: list[np.ndarray], holes: list[np.ndarray]) -> list[np.ndarray]:
        self.calls.append(len(crops))
        ramp = np.linspace(0, 248, S).astype(np.uint8)
        return [np.broadcast_to(ramp[None, :, None], c.shape).copy() for c in crops]


class Tracer:
    """Follows given edges: paints them white on the crop (so a guide that is not mirrored with its crop lands on
    the wrong side)."""

    name = "tracer"
    size = S
    takes_edges = True

    def run(
        self, crops: list[np.ndarray], holes: list[np.ndarray], guides: list[EdgeGuide | None] | None = None
    ) -> list[np.ndarray]:
        assert guides is not None and len(guides) == len(crops)
        out = []
        for c, g in zip(crops, guides):
            o = c.copy()
            if g is not None:
                o[g.edges > 0] = 255
            out.append(o)
        return out


def _crops(n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(0)
    crops = [rng.integers(0, 200, (S, S, 3), dtype=np.uint8) for _ in range(n)]
    holes = [np.zeros((S, S), np.uint8) for _ in range(n)]
    for h in holes:
        h[10:20, 4:28] = 255
    return crops, holes


def test_the_result_is_the_mean_of_both_views_in_one_batch() -> None:
    ramp = Ramp()
    crops, holes = _crops(3)
    out = FlipAveraged(ramp).run(crops, holes)
    assert ramp.calls == [6], "the crops and their mirror images go in one batch"
    own = ramp.run(crops, holes)[0].astype(int)
    want = (own + own[:, ::-1] + 1) // 2  # the ramp and the ramp mirrored back: flat across each row
    assert all(np.array_equal(o, want) for o in out)
    assert np.ptp(out[0][0, :, 0]) <= 1 and np.ptp(own[0, :, 0]) > 200
    assert FlipAveraged(ramp).run([], []) == []


def test_a_mirror_symmetric_model_is_unchanged_and_the_names_pass_through() -> None:
    class Mirror:  # returns its input: mirroring in and back out changes nothing
        name, size, takes_edges = "mirror", S, False

        def run(self, crops, holes):
            return [c.copy() for c in crops]

    crops, holes = _crops(2)
    wrapped = FlipAveraged(Mirror())
    assert all(np.array_equal(a, b) for a, b in zip(wrapped.run(crops, holes), crops))
    assert (wrapped.name, wrapped.size, wrapped.takes_edges) == ("mirror", S, False)


def test_given_edges_are_mirrored_with_their_crop() -> None:
    crops, holes = _crops(2)
    edges = np.zeros((S, S), np.uint8)
    edges[12:18, 3:9] = 255  # off centre: a guide left unmirrored would be painted on the other side
    guide = EdgeGuide(edges, np.full((S, S), 255, np.uint8))
    out = FlipAveraged(Tracer()).run(crops, holes, [guide, None])
    assert np.all(out[0][edges > 0] == 255)
    assert np.array_equal(out[0][edges == 0], crops[0][edges == 0])
    assert np.array_equal(out[1], crops[1])
