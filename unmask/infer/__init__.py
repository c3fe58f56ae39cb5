"""The inference wing: a photo or video in, the censor's pixels restored, out (see docs/ARCHITECTURE.md).

``io`` reads and writes images (provenance tag, atomic writes); ``face`` finds faces and landmarks; ``regions``
and ``censors`` are the registries of what can be hidden and how a censor is drawn (training) and found
(inference); ``runtime`` runs the ONNX generators; ``compose`` and ``mosaic`` paste the result back; ``pipeline``
restores one photo; ``runner`` many (folders, resumable); ``video`` a video; ``inputs`` lists what to restore;
``show`` draws the faces found. Imports no torch."""
