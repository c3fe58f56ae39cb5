"""Videos: `unmask clip.mp4` restores every frame with steady faces and keeps the sound (issue 13).

:mod:`~unmask.video.formats` (extensions, codecs), :mod:`~unmask.video.stream` (PyAV reader and writer),
:mod:`~unmask.video.track` (faces followed and smoothed), :mod:`~unmask.video.restore` (the per-frame loop and
:func:`~unmask.video.restore.restore_video`), :mod:`~unmask.video.flicker` (quality over time),
:mod:`~unmask.video.synth` (clips made from stills) and :mod:`~unmask.video.bench` (speed). PyAV is imported only
when a video is opened.
"""
