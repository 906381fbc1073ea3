"""3D-hand's input: the authors' square crop around the 2D joints, and keypoint heatmaps.

Crop (the authors' demo pipeline): the tightest box of the 2D joints, side ``l`` = its longest
edge; an integer square of side ``round(2.2 l)`` about the box centre, shifted to stay inside the
image (or the image's short side when larger, see :func:`threedhand_box`); pixels
``image[y0:y1 + 1, x0:x1 + 1]`` resized to 320x320 and then to 256x256 (PIL bilinear, as their
``crop.py`` then test transform), scaled to [0, 1] — no mean or standard deviation.

Without 2D joints, a hand box is treated as the joints' tight box (the same rule on its corners);
with neither, the whole image is one hand. Left hands are mirrored before the network.

Heatmaps (model-1): the authors fed OpenPose's 21 hand heatmaps of the 320x320 crop (saved as
seven 8-bit RGB images, resized to 256 with the crop). handzoo draws them from 2D joints
(given, or predicted by another model): one Gaussian per joint with peak 1 and standard deviation
``heatmap_sigma`` pixels of the 256 crop (default 4.87: OpenPose's sigma of 7 pixels at its 368
input, scaled to 256), quantised to 8 bits like the authors' files, in the authors' channel order
(MANO's chains with the tips: wrist, index, middle, pinky, ring, thumb).

Coordinates: a pixel ``u`` of the 256 crop (integers are pixel centres) shows input pixel
``x0 - 0.5 + (u + 0.5) (x1 - x0 + 1) / 256`` (both resizes align pixel corners).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from handzoo.errors import InputError
from handzoo.types import LEFT

__all__ = [
    "CROP_SIZE",
    "INTERMEDIATE_SIZE",
    "BOX_FACTOR",
    "HEATMAP_ORDER",
    "DEFAULT_HEATMAP_SIGMA",
    "HandCrops",
    "threedhand_box",
    "crop_hand",
    "crop_to_image",
    "image_to_crop",
    "draw_heatmaps",
    "make_crops",
]

CROP_SIZE = 256
INTERMEDIATE_SIZE = 320
BOX_FACTOR = 2.2
# handzoo21 joint of each heatmap channel (the authors' layout of OpenPose's maps)
HEATMAP_ORDER = (0, 5, 6, 7, 8, 9, 10, 11, 12, 17, 18, 19, 20, 13, 14, 15, 16, 1, 2, 3, 4)
DEFAULT_HEATMAP_SIGMA = 7.0 * INTERMEDIATE_SIZE / 368.0 * CROP_SIZE / INTERMEDIATE_SIZE


def threedhand_box(points: np.ndarray, img_w: int, img_h: int, factor: float = BOX_FACTOR) -> np.ndarray:
    """3D-hand's integer square crop of 2D points: side ``round(factor * max(w, h))``.

    The square is centred on the points' tight box (start rounded), then shifted to stay inside
    the image; when it would not fit in the short side it is the short side (``min(W, H) - 1``),
    placed along the long side only. Python's ``round`` (half to even) as the authors' code.

    Args:
        points: (P, 2) pixel coordinates (finite; at least one).
        img_w, img_h: image size.
        factor: box expansion (2.2).

    Returns:
        (4,) int64 ``x0, y0, x1, y1``, inclusive: the crop is ``image[y0:y1 + 1, x0:x1 + 1]``.
    """
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    p = p[np.all(np.isfinite(p), axis=1)]
    if p.shape[0] == 0:
        raise InputError("no finite 2D point to build the 3D-hand crop from", hint="give finite 2D joints or a box")
    umin, vmin = p.min(0)
    umax, vmax = p.max(0)
    side = float(round(factor * max(umax - umin, vmax - vmin)))
    umid, vmid = umin + (umax - umin) / 2.0, vmin + (vmax - vmin) / 2.0
    minsz = min(img_w, img_h)

    def place(mid: float, size: int, b: float) -> tuple[float, float]:
        s = float(round(max(0.0, mid - b / 2.0)))
        e = s + b
        if e > size - 1:
            d = e - (size - 1)
            s, e = s - d, e - d
        return s, e

    us, ue, vs, ve = 0.0, img_w - 1.0, 0.0, img_h - 1.0
    if side < minsz - 1:
        us, ue = place(umid, img_w, side)
        vs, ve = place(vmid, img_h, side)
    else:
        side = minsz - 1.0
        if img_w == minsz:
            vs, ve = place(vmid, img_h, side)
        if img_h == minsz:
            us, ue = place(umid, img_w, side)
    return np.array([us, vs, ue, ve], dtype=np.int64)


def crop_hand(
    image: np.ndarray, box: np.ndarray, size: int = CROP_SIZE, intermediate: int | None = INTERMEDIATE_SIZE
) -> np.ndarray:
    """``image[y0:y1 + 1, x0:x1 + 1]`` resized (PIL bilinear) to ``intermediate`` then ``size``.

    Returns:
        (size, size, 3) uint8.
    """
    x0, y0, x1, y1 = (int(v) for v in box)
    patch = Image.fromarray(np.ascontiguousarray(image[y0 : y1 + 1, x0 : x1 + 1]))
    if intermediate:
        patch = patch.resize((intermediate, intermediate), Image.BILINEAR)
    return np.asarray(patch.resize((size, size), Image.BILINEAR))


def crop_to_image(uv: torch.Tensor, boxes: torch.Tensor, size: int = CROP_SIZE) -> torch.Tensor:
    """Map (N, P, 2) crop pixels to input pixels for (N, 4) inclusive crop boxes."""
    c = (boxes[:, 2:3] - boxes[:, 0:1] + 1.0) / size  # (N, 1): input pixels per crop pixel
    return boxes[:, None, :2] - 0.5 + (uv + 0.5) * c[:, None, :]


def image_to_crop(xy: np.ndarray, box: np.ndarray, size: int = CROP_SIZE) -> np.ndarray:
    """Map (P, 2) input pixels into the crop of an inclusive box (inverse of :func:`crop_to_image`)."""
    box = np.asarray(box, dtype=np.float64)
    c = (box[2] - box[0] + 1.0) / size
    return (np.asarray(xy, dtype=np.float64) - box[:2] + 0.5) / c - 0.5


def draw_heatmaps(
    uv: np.ndarray,
    size: int = CROP_SIZE,
    sigma: float = DEFAULT_HEATMAP_SIGMA,
    quantize: bool = True,
    channels_last: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """21 Gaussian heatmaps in [0, 1] of (21, 2) crop-pixel joints (handzoo21), float32.

    Channels follow :data:`HEATMAP_ORDER`; ``quantize`` floors to 8 bits like the authors' PNGs.
    Quantised, a map is 0 wherever its row or column Gaussian times 255 is below 1 (the product of
    the two is at most either, and rounding keeps that order), so only the small block around each
    joint is computed: the same numbers as the whole maps.

    Args:
        uv: (21, 2) joints in crop pixels (handzoo21 order).
        size: side of the square maps.
        sigma: Gaussian standard deviation in pixels.
        quantize: floor to multiples of 1/255.
        channels_last: return (size, size, 21) instead of (21, size, size).
        out: an array of that shape to write into (any strides, e.g. a slice or a mirrored view
            of a crop buffer); default a new one.

    Returns:
        ``out`` (or a new array) holding the maps.
    """
    uv = np.asarray(uv, dtype=np.float64)[list(HEATMAP_ORDER)]
    grid = np.arange(size, dtype=np.float64)
    gx = np.exp(-((grid[None, :] - uv[:, :1]) ** 2) / (2.0 * sigma**2))  # (21, size) along x
    gy = np.exp(-((grid[None, :] - uv[:, 1:2]) ** 2) / (2.0 * sigma**2))
    shape = (size, size, len(uv)) if channels_last else (len(uv), size, size)
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape:
        raise ValueError(f"draw_heatmaps writes {shape} maps, got an array of shape {out.shape}")
    if not quantize or not (np.isfinite(gx).all() and np.isfinite(gy).all()):
        maps = gy[:, :, None] * gx[:, None, :]
        if quantize:
            maps = np.floor(maps * 255.0) / 255.0
        out[...] = maps.transpose(1, 2, 0) if channels_last else maps
        return out
    out[...] = 0.0
    rows, cols = gy * 255.0 >= 1.0, gx * 255.0 >= 1.0
    for c in range(len(uv)):
        ys, xs = np.flatnonzero(rows[c]), np.flatnonzero(cols[c])
        if ys.size == 0 or xs.size == 0:
            continue
        y0, y1, x0, x1 = ys[0], ys[-1] + 1, xs[0], xs[-1] + 1
        block = np.floor(gy[c, y0:y1, None] * gx[c, None, x0:x1] * 255.0) / 255.0
        if channels_last:
            out[y0:y1, x0:x1, c] = block
        else:
            out[c, y0:y1, x0:x1] = block
    return out


@dataclass
class HandCrops:
    """The crops of a batch of hands and how to map them back.

    Attributes:
        images: (N, C, 256, 256) float32 in [0, 1] (C = 3, or 24 with heatmaps); crops made on
            the host are in channels-last memory (the layout the CPU network reads, no copy).
        boxes: (N, 4) int64 inclusive crop boxes ``x0, y0, x1, y1`` in input pixels.
        side: (N,) int64 (left hands were mirrored).
        image_index: (N,) image of each hand; slot: (N,) its index within the image.
        num_images: B; max_hands: H (padding of the output).
        joints2d: (N, 21, 2) input-pixel joints the crops were made from, or None.
    """

    images: torch.Tensor
    boxes: np.ndarray
    side: np.ndarray
    image_index: np.ndarray
    slot: np.ndarray
    num_images: int
    max_hands: int
    joints2d: np.ndarray | None = None


def make_crops(
    images: list[np.ndarray],
    boxes: list[np.ndarray] | None,
    joints2d: list[np.ndarray] | None,
    sides: list[np.ndarray],
    with_heatmaps: bool = False,
    heatmap_sigma: float = DEFAULT_HEATMAP_SIGMA,
    intermediate: int | None = INTERMEDIATE_SIZE,
    device: torch.device | str = "cpu",
    on_device: bool | None = None,
) -> HandCrops:
    """Crop every hand of a validated query (see the module docstring for the rules).

    Args:
        images: RGB uint8 (H, W, 3) per image.
        boxes: per image (N_i, 4) ``x0, y0, x1, y1`` or None.
        joints2d: per image (N_i, 21, 2) handzoo21 input pixels or None (take precedence over boxes).
        sides: per image (N_i,) side codes.
        with_heatmaps: add the 21 heatmap channels (needs ``joints2d``).
        heatmap_sigma: Gaussian standard deviation in crop pixels.
        intermediate: the intermediate resize (320; None to resize once).
        device: device of the returned crops.
        on_device: crop and resize on ``device`` (the uint8 images are copied there once and
            resized by :func:`~handzoo.imaging.pil_resize.pil_resize_crops`, Pillow's integer
            arithmetic: the same pixels as the host path) instead of with Pillow on the host;
            default: on the device when it is not the CPU.

    Raises:
        InputError: heatmaps are asked for without 2D joints.
    """
    if with_heatmaps and joints2d is None:
        raise InputError(
            "3dhand-rgb2d needs the 2D joints of every hand for its heatmap input",
            hint="pass joints2d=... (per image (N, 21, 2), input pixels), or load the model with "
            "keypoints_from='<a handzoo variant that outputs 2D joints>'",
        )
    device = torch.device(device)
    gpu = device.type != "cpu" if on_device is None else bool(on_device)
    out_boxes, out_sides, img_idx, slots, used, maps, uvs = [], [], [], [], [], [], []
    for i, image in enumerate(images):
        h, w = image.shape[:2]
        if joints2d is not None:
            sources = list(joints2d[i])
        elif boxes is not None:
            sources = [np.asarray(b, dtype=np.float64).reshape(2, 2) for b in boxes[i]]
        else:
            sources = [np.array([[0.0, 0.0], [w - 1.0, h - 1.0]])]
        for j, pts in enumerate(sources):
            box = threedhand_box(pts, w, h)
            side = int(sides[i][j]) if sides is not None and j < len(sides[i]) else 0
            if with_heatmaps:
                uvs.append(image_to_crop(pts, box))
                if gpu:
                    maps.append(draw_heatmaps(uvs[-1], CROP_SIZE, heatmap_sigma))
            out_boxes.append(box)
            out_sides.append(side)
            img_idx.append(i)
            slots.append(j)
            if joints2d is not None:
                used.append(np.asarray(pts, dtype=np.float64))
    channels = 24 if with_heatmaps else 3
    if gpu and out_boxes:
        tensor = _device_crops(images, out_boxes, img_idx, out_sides, maps, intermediate, device)
    elif out_boxes:
        hwc = np.empty((len(out_boxes), CROP_SIZE, CROP_SIZE, channels), dtype=np.float32)
        for k, (i, box, side) in enumerate(zip(img_idx, out_boxes, out_sides)):
            dst = hwc[k, :, ::-1] if side == LEFT else hwc[k]  # left hands mirrored as they are written
            np.divide(crop_hand(images[i], box, CROP_SIZE, intermediate), np.float32(255.0), out=dst[..., :3])
            if with_heatmaps:
                draw_heatmaps(uvs[k], CROP_SIZE, heatmap_sigma, channels_last=True, out=dst[..., 3:])
        # (N, C, 256, 256) in channels-last memory: the network's convolutions read this layout
        tensor = torch.from_numpy(hwc).permute(0, 3, 1, 2).to(device)
    else:
        tensor = torch.zeros((0, channels, CROP_SIZE, CROP_SIZE), device=device)
    return HandCrops(
        images=tensor,
        boxes=np.asarray(out_boxes, dtype=np.int64).reshape(-1, 4),
        side=np.asarray(out_sides, dtype=np.int64),
        image_index=np.asarray(img_idx, dtype=np.int64),
        slot=np.asarray(slots, dtype=np.int64),
        num_images=len(images),
        max_hands=max((s + 1 for s in slots), default=0),
        joints2d=np.stack(used) if used else None,
    )


def _device_crops(
    images: list[np.ndarray],
    boxes: list[np.ndarray],
    image_index: list[int],
    sides: list[int],
    maps: list[np.ndarray],
    intermediate: int | None,
    device: torch.device,
) -> torch.Tensor:
    """:func:`make_crops`' crops warped on ``device`` (the same pixels as Pillow on the host)."""
    from handzoo.imaging.pil_resize import pil_resize_crops

    used = sorted(set(image_index))
    where = {i: k for k, i in enumerate(used)}
    on_dev = [torch.from_numpy(images[i]).to(device, non_blocking=True).permute(2, 0, 1) for i in used]
    steps = (intermediate, CROP_SIZE) if intermediate else (CROP_SIZE,)
    rgb = pil_resize_crops(on_dev, np.stack(boxes), steps, image_index=[where[i] for i in image_index])
    x = rgb.to(torch.float32) / 255.0
    if maps:
        x = torch.cat((x, torch.from_numpy(np.stack(maps)).to(device, non_blocking=True)), 1)
    left = torch.as_tensor(np.asarray(sides) == LEFT).to(device, non_blocking=True)
    return torch.where(left[:, None, None, None], x.flip(-1), x)
