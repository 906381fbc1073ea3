"""``handzoo predict``: images, folders, videos or a webcam in; overlays, meshes and JSON out.

::

    from handzoo.predict import predict
    summary = predict(model, ["photos/", "clip.mp4"], out_dir="out", save_mesh="obj")

The pieces are small modules: :mod:`~handzoo.predict.readers` (inputs),
:mod:`~handzoo.predict.detectors` (hands without boxes), :mod:`~handzoo.predict.writers`
(JSON, overlays, videos, meshes) and :mod:`~handzoo.predict.runner` (the loop).
"""

from __future__ import annotations

from handzoo.predict.detectors import FullImageDetector, ModelKeypointDetector, make_detector
from handzoo.predict.readers import Source, collect_sources, read_boxes_file, read_image
from handzoo.predict.runner import predict
from handzoo.predict.writers import hand_records, render_overlay, write_mesh

__all__ = [
    "FullImageDetector",
    "ModelKeypointDetector",
    "Source",
    "collect_sources",
    "hand_records",
    "make_detector",
    "predict",
    "read_boxes_file",
    "read_image",
    "render_overlay",
    "write_mesh",
]
