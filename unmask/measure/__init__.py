"""The measurement wing: how good and how fast restoring is. Nothing here is needed to restore a photo.

Quality (``unmask eval``):

* :mod:`~unmask.measure.metrics`: PSNR, SSIM, L1 in the hole, hole IoU, spill, LPIPS, bootstrap intervals;
* :mod:`~unmask.measure.baselines`: Telea, Navier-Stokes and ``none`` behind the model interface;
* :mod:`~unmask.measure.texture`: the hole's detail (|Laplacian| ratio), padded box (hole LPIPS, KID) and tone;
  :mod:`~unmask.measure.skin`: each face's skin tone (ITA) and the scores per skin-tone group;
* :mod:`~unmask.measure.evaluate`: censor clean faces, restore them with every method, score them;
  :mod:`~unmask.measure.scores` holds its settings and report, :mod:`~unmask.measure.grid` draws its picture.

Speed and memory (``unmask bench``), one module per measurement, gathered in :mod:`~unmask.measure.bench`:

* :mod:`~unmask.measure.memory`: resident memory sampled while something runs;
* :mod:`~unmask.measure.folder`: a folder run through the real path, seconds per stage;
* :mod:`~unmask.measure.macs`: multiply-adds of an ONNX graph;
* :mod:`~unmask.measure.generator`: the generator alone, ONNX Runtime vs PyTorch eager;
* :mod:`~unmask.measure.scaling`: faces per photo, photo size, batch size, on synthetic canvases;
* :mod:`~unmask.measure.probe`: peak memory of a fresh process restoring one large photo.

The library measures and reports; the project's targets for these numbers live in ``benchmarks/targets.py``.
Nothing is imported here, so importing one module does not load the others (or torch). Never prints.
"""
