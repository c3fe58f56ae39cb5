"""The README's video strip: frames of a synthetic clip before and after `unmask clip.mp4`.

Run: python scripts/video_strip.py ../shared/data/celeba/val --out docs/img/video-strip.png
A validation face moves (pan, zoom, a small rotation) with an eye bar drawn on every frame at its moving landmarks;
the clip is written as an MP4 with a sine tone, restored file to file by the video path with the default eye
model, and every ``--step``-th frame of the input (top) and the output (bottom) is put side by side. The restored
eyes are synthetic.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import cv2
import numpy as np

from unmask.infer.io import read_image, write_png
from unmask.infer.pipeline import Restorer, load_models
from unmask.infer.video.restore import restore_video
from unmask.infer.video.stream import VideoReader
from unmask.measure.clips import Actor, clip_frames, write_clip

FONT = cv2.FONT_HERSHEY_SIMPLEX


def label(width: int, text: str) -> np.ndarray:
    bar = np.full((22, width, 3), 255, np.uint8)
    cv2.putText(bar, text, (6, 16), FONT, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
    return bar


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("photos", type=Path, help="folder of validation faces (../shared/data/celeba/val)")
    ap.add_argument("--photo", default="182654.jpg", help="the face (a file of the folder)")
    ap.add_argument("--out", type=Path, default=Path("docs/img/video-strip.png"))
    ap.add_argument("--step", type=int, default=8, help="every STEP-th frame")
    ap.add_argument("--frames", type=int, default=5, help="frames shown")
    args = ap.parse_args()
    with Restorer(load_models(None, "eyes", "cpu", 0), "eyes") as restorer, tempfile.TemporaryDirectory() as tmp:
        rgb = read_image(args.photos / args.photo).rgb
        face = restorer.finder.search(rgb).faces[0]
        clip = Path(tmp) / "clip.mp4"
        seconds = (args.step * args.frames) / 25
        write_clip(clip, clip_frames([Actor(rgb, face.landmarks, 0.85, (0.5, 0.5))], (256, 256), seconds, 25), 25)
        restore_video(clip, Path(tmp) / "out.mp4", restorer)
        rows = []
        for path, text in (
            (clip, "censored input (every 8th frame of 25 fps)"),
            (Path(tmp) / "out.mp4", "unmask clip.mp4 (synthetic eyes)"),
        ):
            with VideoReader(path) as r:
                frames = [f.rgb for f in r.frames()][:: args.step][: args.frames]
            row = np.concatenate(frames, axis=1)
            rows += [label(row.shape[1], text.replace("8th", f"{args.step}th")), row]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_png(args.out, np.concatenate(rows, axis=0))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
