"""Videos: `unmask clip.mp4` restores every frame with steady faces and keeps the sound (issue 13).

:mod:`~unmask.infer.video.formats` (extensions, codecs), :mod:`~unmask.infer.video.stream` (PyAV reader and writer),
:mod:`~unmask.infer.video.track` (faces followed and smoothed), :mod:`~unmask.infer.video.steady` (the per-frame
policy), :mod:`~unmask.infer.video.restore` (the file job, :func:`~unmask.infer.video.restore.restore_video`),
:mod:`~unmask.infer.video.settings` (:class:`~unmask.infer.video.settings.VideoSettings`),
:mod:`~unmask.infer.video.overlap` (decoding and encoding threads). Measuring videos is the measurement wing's: :mod:`~unmask.measure.flicker` (quality over time),
:mod:`~unmask.measure.clips` (clips made from stills), :mod:`~unmask.measure.video_bench` (speed). PyAV is
imported only when a video is opened.
"""
