"""The quick-start demo: censor the public-domain astronaut portrait shipped with scikit-image with unmask's own
eye bar, pixelated eye band and surgical mask, restore each with the default models through the `unmask` command,
and write before/after images to demo/ (or the folder given). Run: python scripts/demo.py [OUT]"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PIL import Image
from skimage import data

from unmask.infer.censors import draw_censor
from unmask.infer.face.detect import FaceFinder


def main(out: Path) -> int:
    out.mkdir(parents=True, exist_ok=True)
    photo = data.astronaut()
    with FaceFinder(max_faces=1) as finder:
        faces = finder.search(photo).faces
    if not faces:
        print("no face found in the astronaut photo", file=sys.stderr)
        return 1
    inputs = out / "censored"
    inputs.mkdir(exist_ok=True)
    cases = (("eyes", "bar", "eyes"), ("mosaic", "pixelate", "eyes"), ("mouth", "surgical", "mouth"))
    for name, kind, _ in cases:
        censored, _ = draw_censor(photo, faces[0].landmarks, kind)
        Image.fromarray(censored).save(inputs / f"astronaut_{name}.png")
    Image.fromarray(photo).save(out / "astronaut_original.png")
    code = 0
    for name, _, region in cases:
        cmd = [
            sys.executable,
            "-m",
            "unmask",
            str(inputs / f"astronaut_{name}.png"),
            "--region",
            region,
            "--out",
            str(out / "restored"),
            "--compare",
            "--overwrite",
        ]
        print("$", " ".join(cmd[2:]).replace("-m unmask", "unmask"), flush=True)
        code |= subprocess.call(cmd)
    print(f"before/after: {out / 'restored'}/*.compare.png (the restored regions are synthetic, not recovered)")
    return code


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("demo")))
