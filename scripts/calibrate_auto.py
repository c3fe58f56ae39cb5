"""Measures the cues of unmask.masks.occluder on validation faces, clean and censored in the photo (JPEG q90),
to set its thresholds. Run: python scripts/calibrate_auto.py (needs ../shared)."""
import io, numpy as np
from PIL import Image
from pathlib import Path
from unmask.face.detect import FaceFinder
from unmask.face.align import align
from unmask.masks import draw_censor
from unmask.masks.occluder import scores
files = sorted(Path('../shared/data/celeba/val').glob('*.jpg'))[100:160]
rng=np.random.default_rng(1)
res={k:[] for k in ['clean','bar','pixelate','surgical']}
miss={k:0 for k in res}
with FaceFinder(max_faces=1) as ff:
    for f in files:
        img=np.asarray(Image.open(f).convert('RGB'))
        faces=ff.find(img)
        if not faces: continue
        for k in res:
            c = img if k=='clean' else draw_censor(img, faces[0].landmarks, k, rng)[0]
            b=io.BytesIO(); Image.fromarray(c).save(b,'JPEG',quality=90); c=np.asarray(Image.open(b))
            fs=ff.find(c)
            if not fs: miss[k]+=1; continue
            a=align(c,fs[0],128)
            res[k].append(scores(a.crop))
print(miss)
for k,v in res.items():
    keys=v[0].keys()
    print(k, {kk: np.round(np.percentile([x[kk] for x in v],[5,50,95]),2).tolist() for kk in keys})
np.save('/tmp/calib.npy', res, allow_pickle=True)
