"""The one input contract of every method: :func:`make_query` turns user input into a :class:`HandQuery`.

Users call a model with whatever they have; :func:`make_query` validates it once and every
:meth:`handzoo.interfaces.Method.preprocess` receives the same typed query, so no plugin parses
images, boxes or sides again::

    q = make_query("hand.jpg", boxes=[[40, 30, 120, 110]], sides="left")
    q.images[0].shape       # (H, W, 3) uint8 RGB
    q.boxes[0]              # (1, 4) float64 x0, y0, x1, y1 in input pixels
    q.sides[0]              # array([1]) (handzoo.types.LEFT)

Accepted forms (one image or many):

* images: numpy (H, W, 3) / (H, W) / (H, W, 4) uint8, or float in [0, 1]; PIL images; paths;
  torch tensors (3, H, W) / (H, W, 3) uint8 or float in [0, 1]; a list of those, or a batched
  (B, H, W, 3) array / (B, 3, H, W) tensor.
* boxes ``x0, y0, x1, y1`` in input pixels: for one image a (4,) box or (N, 4) boxes; for B images
  a list of B entries, each (4,), (N_i, 4) or empty, a (B, 4) array (one hand each) or a
  (B, N, 4) array.
* sides: ``'right'``/``'left'`` (``'r'``/``'l'``) or 0/1 (:data:`handzoo.types.RIGHT` /
  :data:`~handzoo.types.LEFT`): one value for every hand, a flat list (one per hand) for one
  image, or a list per image (each a value or a list of N_i values).
* K: one (3, 3) intrinsics matrix for every image, a (B, 3, 3) array or a list of B matrices.
* joints2d: (21, 2) / (N, 21, 2) per image in handzoo21 order and input pixels (same grouping as
  boxes). root: (3,) / (N, 3) camera-frame wrist positions in metres per image.
* any other keyword goes, untouched, to ``extra`` (method-specific options).

The number of hands of image ``i`` comes from its boxes, else its 2D joints, else its roots, else
its sides; when nothing says, the whole image is one hand (``num_hands(i) == 1``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from handzoo.errors import InputError
from handzoo.types import LEFT, RIGHT

__all__ = ["HandQuery", "make_query", "load_image", "load_images", "describe_value"]


# --------------------------------------------------------------------------------------------
# images


def describe_value(obj: Any) -> str:
    """What a bad input is, for error messages: its type, and its shape and dtype when it has them."""
    shape = getattr(obj, "shape", None)
    dtype = getattr(obj, "dtype", None)
    if shape is not None:
        return f"{type(obj).__name__} with shape {tuple(shape)} and dtype {dtype}"
    return type(obj).__name__


def _float_to_uint8(arr: np.ndarray, what: str) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{what} contains NaN or infinite values", hint="pass finite pixel values")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < -1e-3 or hi > 1.0 + 1e-3:
        raise InputError(
            f"{what} is a float image with values in [{lo:.3g}, {hi:.3g}], expected [0, 1]",
            hint="pass uint8 images in [0, 255] or float images scaled to [0, 1]",
        )
    return np.clip(np.rint(arr * 255.0), 0, 255).astype(np.uint8)


def _array_to_rgb(arr: np.ndarray, what: str, channels_first: bool = False) -> np.ndarray:
    """Validate an (H,W), (H,W,C) or (C,H,W) array and return a contiguous RGB uint8 (H,W,3)."""
    if arr.ndim == 3 and channels_first:
        arr = np.moveaxis(arr, 0, -1)
    if arr.ndim == 2:
        arr = arr[:, :, None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4):
        raise InputError(
            f"{what} must be an image of shape (H, W, 3), got shape {tuple(arr.shape)}",
            hint="images are RGB (H, W, 3) uint8 arrays, PIL images, file paths or (C, H, W) tensors",
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise InputError(f"{what} is empty (shape {tuple(arr.shape)})", hint="pass an image with at least one pixel")
    if arr.dtype == np.uint8:
        out = arr
    elif arr.dtype == np.bool_:
        out = arr.astype(np.uint8) * 255
    elif np.issubdtype(arr.dtype, np.floating):
        out = _float_to_uint8(arr.astype(np.float32), what)
    elif np.issubdtype(arr.dtype, np.integer):
        lo, hi = int(arr.min()), int(arr.max())
        if lo < 0 or hi > 255:
            raise InputError(f"{what} has integer values in [{lo}, {hi}], expected [0, 255]", hint="pass uint8 images")
        out = arr.astype(np.uint8)
    else:
        raise InputError(f"{what} has unsupported dtype {arr.dtype}", hint="pass uint8 or float images")
    if out.shape[-1] == 1:
        out = np.repeat(out, 3, axis=-1)
    elif out.shape[-1] == 4:
        out = out[..., :3]
    return np.ascontiguousarray(out)


def _read_path(path: Path) -> np.ndarray:
    import cv2

    try:
        exists, is_dir = path.exists(), path.is_dir()
    except OSError:  # symlink loop, name too long
        exists, is_dir = False, False
    if not exists:
        raise InputError(f"image file not found (or a broken/looping link): {path}", hint="check the path")
    if is_dir:
        raise InputError(f"{path} is a directory, not an image file", hint="pass image files, one path each")
    try:
        data = np.fromfile(str(path), dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read image file {path}: {exc.strerror or exc}", hint="check the file") from exc
    if data.size == 0:
        raise InputError(f"image file is empty: {path}", hint="re-export or re-download the image")
    # IGNORE_ORIENTATION: the methods read with cv2.imread and never apply EXIF rotation
    try:
        bgr = cv2.imdecode(data, cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION)
    except cv2.error:
        bgr = None
    if bgr is None:
        raise InputError(f"cannot decode image file {path} (corrupt or not an image)", hint="check the file")
    return np.ascontiguousarray(bgr[:, :, ::-1])


def load_image(image: Any, name: str = "image") -> np.ndarray:
    """Turn one image in any supported form into an RGB uint8 (H, W, 3) numpy array.

    Args:
        image: a numpy array (H, W, 3) / (H, W) / (H, W, 4), uint8 or float in [0, 1]; a PIL image;
            a path (``str`` or ``pathlib.Path``); or a torch tensor (C, H, W) or (H, W, C), uint8
            or float in [0, 1].
        name: how to call the image in error messages.

    Returns:
        A new or shared contiguous RGB uint8 array.

    Raises:
        InputError: wrong type, shape, dtype, value range, empty or corrupt file.
    """
    if image is None:
        raise InputError(f"{name} is None", hint="pass an image array, PIL image, path or tensor")
    if isinstance(image, (str, os.PathLike)):
        return _read_path(Path(image))
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image, name)
    mod = type(image).__module__
    if mod.startswith("torch"):
        import torch

        if isinstance(image, torch.Tensor):
            arr = image.detach().cpu()
            if arr.dtype == torch.bfloat16 or arr.dtype == torch.float16:
                arr = arr.float()
            arr = arr.numpy()
            channels_first = arr.ndim == 3 and arr.shape[0] in (1, 3, 4) and arr.shape[-1] not in (1, 3, 4)
            return _array_to_rgb(arr, name, channels_first=channels_first)
    if mod.startswith("PIL"):
        try:
            pil = image.convert("RGB")
            return np.ascontiguousarray(np.asarray(pil, dtype=np.uint8))
        except Exception as exc:  # PIL raises many types for truncated data
            raise InputError(f"cannot read PIL {name}: {exc}", hint="check the image file") from exc
    raise InputError(
        f"{name} has unsupported type {describe_value(image)}",
        hint="pass numpy (H, W, 3) uint8, PIL images, file paths or torch tensors",
    )


def load_images(images: Any) -> list[np.ndarray]:
    """Load one image or a batch of images as a list of RGB uint8 (H, W, 3) arrays.

    Accepted: a single image (see :func:`load_image`), a list/tuple of images, a batched numpy
    array (B, H, W, 3), or a batched tensor (B, C, H, W) / (B, H, W, C).

    Raises:
        InputError: for an empty batch or any bad element (named by its index).
    """
    if isinstance(images, (list, tuple)):
        if len(images) == 0:
            raise InputError("no images given (empty list)", hint="pass at least one image")
        return [load_image(im, name=f"image {i}") for i, im in enumerate(images)]
    ndim = getattr(images, "ndim", None)
    if ndim == 4:
        if images.shape[0] == 0:
            raise InputError("no images given (empty batch)", hint="pass at least one image")
        return [load_image(images[i], name=f"image {i}") for i in range(images.shape[0])]
    return [load_image(images)]


# --------------------------------------------------------------------------------------------
# the query


@dataclass
class HandQuery:
    """Validated input of one call of a method (see the module docstring for the accepted forms).

    Attributes:
        images: RGB uint8 (H_i, W_i, 3), C-contiguous, one per image.
        boxes: per image (N_i, 4) float64 ``x0, y0, x1, y1`` in input pixels; None = not given.
        sides: per image (N_i,) int64, RIGHT=0 / LEFT=1; None = not given.
        K: per image (3, 3) float64 intrinsics of the input camera; None = not given.
        joints2d: per image (N_i, 21, 2) float64, handzoo21 order, input pixels; None = not given.
        root: per image (N_i, 3) float64 camera-frame wrist in metres; None = not given.
        extra: method-specific keyword arguments, passed through untouched.
    """

    images: list[np.ndarray]
    boxes: list[np.ndarray] | None = None
    sides: list[np.ndarray] | None = None
    K: list[np.ndarray] | None = None
    joints2d: list[np.ndarray] | None = None
    root: list[np.ndarray] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def num_images(self) -> int:
        """Number of images B."""
        return len(self.images)

    @property
    def image_sizes(self) -> list[tuple[int, int]]:
        """``(H, W)`` of each image."""
        return [(int(im.shape[0]), int(im.shape[1])) for im in self.images]

    def num_hands(self, i: int) -> int:
        """Number of hands of image ``i`` (from boxes, 2D joints, roots or sides; else 1)."""
        for per_image in (self.boxes, self.joints2d, self.root, self.sides):
            if per_image is not None:
                return int(per_image[i].shape[0])
        return 1

    @property
    def hand_counts(self) -> list[int]:
        """``num_hands(i)`` of every image."""
        return [self.num_hands(i) for i in range(self.num_images)]

    @property
    def max_hands(self) -> int:
        """The largest number of hands in one image (the padded ``H`` of a :class:`HandOutput`)."""
        return max(self.hand_counts, default=0)

    def hand_index(self) -> list[tuple[int, int]]:
        """``(image index, hand index)`` of every hand, image by image."""
        return [(i, j) for i in range(self.num_images) for j in range(self.num_hands(i))]

    def hand_sides(self, default: int = RIGHT) -> list[np.ndarray]:
        """Per image (N_i,) int64 side codes, ``default`` where sides were not given."""
        if self.sides is not None:
            return list(self.sides)
        return [np.full(n, default, dtype=np.int64) for n in self.hand_counts]


def _to_numpy(value: Any) -> Any:
    """Tensors (also inside lists) to numpy; anything else unchanged."""
    if type(value).__module__.startswith("torch") and hasattr(value, "detach"):
        return value.detach().cpu().numpy()
    if isinstance(value, (list, tuple)):
        return [_to_numpy(v) for v in value]
    return value


def _float_array(value: Any, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputError(f"{what} must be numbers, got {describe_value(value)}", hint="pass numeric arrays") from None
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{what} contains NaN or infinite values", hint="pass finite values")
    return arr


def _shape_str(tail: tuple[int, ...]) -> str:
    return ", ".join(str(t) for t in tail)


def _tuple_str(tail: tuple[int, ...]) -> str:
    return f"({tail[0]},)" if len(tail) == 1 else f"({_shape_str(tail)})"


def _rows(value: Any, tail: tuple[int, ...], what: str) -> np.ndarray:
    """One image's (N, *tail) rows from a (*tail,) or (N, *tail) value (or an empty one)."""
    arr = _float_array(value, what)
    if arr.size == 0:
        return np.zeros((0, *tail), dtype=np.float64)
    if arr.shape == tail:
        return np.ascontiguousarray(arr[None])
    if arr.shape[1:] == tail:
        return np.ascontiguousarray(arr)
    raise InputError(f"{what} must have shape {_tuple_str(tail)} or (N, {_shape_str(tail)}), got {arr.shape}")


def _per_image(value: Any, tail: tuple[int, ...], name: str, num_images: int) -> list[np.ndarray] | None:
    """Per-image (N_i, *tail) float64 arrays from the grouped forms users pass (None stays None)."""
    if value is None:
        return None
    value = _to_numpy(value)
    if num_images == 1:
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            arr = None  # ragged: a list with one entry for the one image
        if arr is not None and arr.ndim == len(tail) + 2 and arr.shape[0] == 1:
            return [_rows(arr[0], tail, name)]
        if arr is not None:
            return [_rows(arr, tail, name)]
        if isinstance(value, list) and len(value) == 1:
            return [_rows(value[0], tail, name)]
        raise InputError(
            f"{name} for one image must have shape (N, {_shape_str(tail)})",
            hint=f"pass one (N, {_shape_str(tail)}) array",
        )
    if isinstance(value, list):
        if len(value) != num_images:
            raise InputError(
                f"{name} has {len(value)} entries for {num_images} images",
                hint=f"pass a list with one (N_i, {_shape_str(tail)}) array per image",
            )
        return [_rows(v, tail, f"{name} of image {i}") for i, v in enumerate(value)]
    arr = _float_array(value, name)
    if arr.shape == (num_images, *tail):
        return [np.ascontiguousarray(a[None]) for a in arr]
    if arr.ndim == len(tail) + 2 and arr.shape[0] == num_images and arr.shape[2:] == tail:
        return [np.ascontiguousarray(a) for a in arr]
    raise InputError(
        f"{name} of shape {arr.shape} do not fit {num_images} images",
        hint=f"pass a list with one (N_i, {_shape_str(tail)}) array per image",
    )


def _side_code(side: Any, what: str) -> int:
    if isinstance(side, np.generic):
        side = side.item()
    if isinstance(side, str):
        s = side.strip().lower()
        if s in ("right", "r"):
            return RIGHT
        if s in ("left", "l"):
            return LEFT
    elif isinstance(side, (int, float)) and not isinstance(side, bool) and side in (RIGHT, LEFT):
        return int(side)
    raise InputError(f"{what} must be 'right'/'left' or 0 (right)/1 (left), got {side!r}")


def _is_scalar_side(s: Any) -> bool:
    return isinstance(s, (str, int, float, np.generic)) and not isinstance(s, bool)


def _sides(value: Any, counts: list[int] | None, num_images: int) -> list[np.ndarray] | None:
    """Per-image (N_i,) int64 codes; ``counts`` None when no other input fixes the hand counts."""
    if value is None:
        return None
    value = _to_numpy(value)
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if _is_scalar_side(value):
        code = _side_code(value, "sides")
        return [np.full(n, code, dtype=np.int64) for n in (counts or [1] * num_images)]
    if not isinstance(value, (list, tuple)):
        raise InputError(f"sides must be 'right'/'left', 0/1 or lists of those, got {describe_value(value)}")
    seq = list(value)
    flat = all(_is_scalar_side(s) for s in seq)
    if num_images == 1 and flat and (counts is None or len(seq) == counts[0]):
        return [np.array([_side_code(s, f"sides[{j}]") for j, s in enumerate(seq)], dtype=np.int64).reshape(-1)]
    if len(seq) != num_images:
        raise InputError(
            f"sides has {len(seq)} entries for {num_images} image(s)"
            + ("" if counts is None else f" with {sum(counts)} hand(s)"),
            hint="give one side per hand, or a list of sides per image",
        )
    out = []
    for i, s in enumerate(seq):
        items = [s] if _is_scalar_side(s) else list(np.asarray(s, dtype=object).reshape(-1))
        n = len(items) if counts is None else counts[i]
        if len(items) == 1 and n != 1 and _is_scalar_side(s):
            items = items * n
        if len(items) != n:
            raise InputError(f"image {i} has {n} hand(s) but {len(items)} sides", hint="give one side per hand")
        out.append(np.array([_side_code(x, f"side {j} of image {i}") for j, x in enumerate(items)], dtype=np.int64))
    return out


def _intrinsics(value: Any, num_images: int) -> list[np.ndarray] | None:
    if value is None:
        return None
    value = _to_numpy(value)
    if isinstance(value, list) and len(value) == num_images and all(np.ndim(k) == 2 for k in value):
        arr = np.stack([_float_array(k, f"K of image {i}") for i, k in enumerate(value)])
    else:
        arr = _float_array(value, "K")
    if arr.shape == (3, 3):
        arr = np.broadcast_to(arr, (num_images, 3, 3))
    if arr.shape != (num_images, 3, 3):
        raise InputError(
            f"K must be (3, 3) or ({num_images}, 3, 3), got {arr.shape}", hint="pass one 3x3 matrix per image"
        )
    if np.any(arr[:, 0, 0] <= 0) or np.any(arr[:, 1, 1] <= 0):
        raise InputError("K must have positive focal lengths K[0, 0] and K[1, 1]", hint="pass pixel intrinsics")
    return [np.array(k, dtype=np.float64) for k in arr]


def _check_boxes(boxes: list[np.ndarray], sizes: list[tuple[int, int]]) -> None:
    """Reject inverted boxes and boxes entirely outside their image, the same on every side.

    A box that overlaps its image only partly is accepted as given on every side (methods crop
    with padding); a box that does not even touch the image (``x1 < 0``, ``y1 < 0``, ``x0 > W``
    or ``y0 > H``) is an :class:`~handzoo.errors.InputError` naming the image and box index.
    """
    for i, b in enumerate(boxes):
        bad = (b[:, 2] < b[:, 0]) | (b[:, 3] < b[:, 1])
        if np.any(bad):
            j = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"box {j} of image {i} ({b[j].tolist()}) has x1 < x0 or y1 < y0",
                hint="boxes are x0, y0, x1, y1 (corners) in input pixels",
            )
        height, width = sizes[i]
        outside = (b[:, 2] < 0) | (b[:, 3] < 0) | (b[:, 0] > width) | (b[:, 1] > height)
        if np.any(outside):
            j = int(np.flatnonzero(outside)[0])
            raise InputError(
                f"box {j} of image {i} ({b[j].tolist()}) lies entirely outside the {width}x{height} image",
                hint="boxes are x0, y0, x1, y1 (corners) in pixels of the input image; give boxes that overlap it",
            )


def make_query(
    images: Any,
    boxes: Any = None,
    *,
    sides: Any = None,
    K: Any = None,
    joints2d: Any = None,
    root: Any = None,
    **extra: Any,
) -> HandQuery:
    """Validate user input into a :class:`HandQuery` (the forms accepted: see the module docstring).

    Args:
        images: one image or many (array, PIL image, path, tensor, list or batch); a
            :class:`HandQuery` is returned as is when nothing else is given.
        boxes: hand boxes ``x0, y0, x1, y1`` in input pixels, per image.
        sides: hand sides ('right'/'left' or 0/1): one value, one per hand, or a list per image.
        K: camera intrinsics, one (3, 3) or one per image.
        joints2d: 2D joints (N_i, 21, 2) in input pixels, handzoo21 order, per image.
        root: camera-frame wrist positions (N_i, 3) in metres, per image.
        **extra: method-specific options, passed through untouched in ``HandQuery.extra``.

    Returns:
        The validated query.

    Raises:
        InputError: bad images, shapes, values or counts that disagree (one line, with the fix).
    """
    if isinstance(images, HandQuery):
        if boxes is None and sides is None and K is None and joints2d is None and root is None and not extra:
            return images
        raise InputError("a HandQuery already holds boxes, sides and context", hint="pass the query alone")
    if "side" in extra:
        raise InputError("'side' is not an input name", hint="pass sides= (one value, or one per hand)")
    imgs = load_images(images)
    b = len(imgs)
    bx = _per_image(boxes, (4,), "boxes", b)
    if bx is not None:
        _check_boxes(bx, [(int(im.shape[0]), int(im.shape[1])) for im in imgs])
    jt = _per_image(joints2d, (21, 2), "joints2d", b)
    rt = _per_image(root, (3,), "root", b)
    counts: list[int] | None = None
    for name, per_image in (("boxes", bx), ("joints2d", jt), ("root", rt)):
        if per_image is None:
            continue
        these = [int(a.shape[0]) for a in per_image]
        if counts is None:
            counts, first = these, name
        elif these != counts:
            raise InputError(
                f"{name} give {these} hand(s) per image but {first} give {counts}",
                hint="give the same hands, in the same order, in every per-hand input",
            )
    sd = _sides(sides, counts, b)
    return HandQuery(images=imgs, boxes=bx, sides=sd, K=_intrinsics(K, b), joints2d=jt, root=rt, extra=dict(extra))
