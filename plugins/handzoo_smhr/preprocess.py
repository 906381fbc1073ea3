"""SMHR's input: the whole image, zero-padded to a square, resized, **BGR**, ImageNet-normalised.

The authors read images with ``cv2.imread`` and never convert them to RGB, so the network was
trained on BGR pixels normalised with the RGB-ordered ImageNet mean and std; this module
reproduces that from the RGB images handzoo is given. Padding goes on the top (rows) and the
right (columns), as in the authors' demo: ``pad_top = S - H``, ``pad_right = S - W``,
``S = max(H, W)``; then ``cv2.resize`` (bilinear) to the network size.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

__all__ = ["IMAGENET_MEAN", "IMAGENET_STD", "SquareLetterbox", "letterbox", "normalize_bgr", "prepare_images"]

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


@dataclass(frozen=True)
class SquareLetterbox:
    """How one input image became the square network input.

    Attributes:
        height, width: the input image size.
        side: ``S = max(height, width)``.
        pad_top: rows of zeros added on top (``S - height``); columns go on the right.
        size: the network input size.
    """

    height: int
    width: int
    side: int
    pad_top: int
    size: int

    @property
    def scale(self) -> float:
        """Input pixels per network pixel (``S / size``)."""
        return self.side / self.size

    def to_input(self) -> np.ndarray:
        """(3, 3) affine map from network-input pixels to input-image pixels (pixel centres aligned,
        as ``cv2.resize``): ``x_in = (x + 0.5) s - 0.5``, ``y_in = (y + 0.5) s - 0.5 - pad_top``."""
        s = self.scale
        return np.array([[s, 0.0, 0.5 * s - 0.5], [0.0, s, 0.5 * s - 0.5 - self.pad_top], [0.0, 0.0, 1.0]])


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, SquareLetterbox]:
    """BGR uint8 (size, size, 3) network image of an RGB uint8 image, and its :class:`SquareLetterbox`."""
    h, w = rgb.shape[:2]
    side = max(h, w)
    pad_top = side - h  # the right gets side - w columns
    padded = np.zeros((side, side, 3), dtype=np.uint8)
    padded[pad_top:, :w] = rgb[:, :, ::-1]  # BGR
    out = cv2.resize(padded, (size, size))  # INTER_LINEAR, the authors' call
    return out, SquareLetterbox(h, w, side, pad_top, size)


def normalize_bgr(image: np.ndarray) -> np.ndarray:
    """``(image / 255 - mean) / std`` in float32 with the RGB-ordered ImageNet statistics (the quirk)."""
    return (image.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD


def prepare_images(
    images: list[np.ndarray], size: int, device: torch.device | str = "cpu", on_device: bool | None = None
) -> tuple[torch.Tensor, list[SquareLetterbox]]:
    """Network input (B, 3, size, size) float32 of RGB uint8 images, and each image's letterbox.

    Args:
        images: RGB uint8 (H, W, 3) images.
        size: the network input size.
        device: device of the returned tensor.
        on_device: letterbox on ``device`` (the uint8 images are copied there once and resized by
            :func:`~handzoo.imaging.cv2_resize.resize_linear_u8`, OpenCV's integer arithmetic:
            the same pixels as the host path) instead of with OpenCV on the host; default: on
            the device when it is not the CPU.
    """
    device = torch.device(device)
    if (device.type != "cpu" if on_device is None else bool(on_device)) and images:
        return _device_letterbox(images, size, device)
    batch = np.empty((len(images), size, size, 3), dtype=np.float32)
    boxes = []
    for i, img in enumerate(images):
        net, lb = letterbox(img, size)
        batch[i] = normalize_bgr(net)
        boxes.append(lb)
    if len(images) == 1:
        # the authors' layout for one image, ``(H, W, 3) -> permute -> unsqueeze(0)``: oneDNN picks
        # its kernels from the strides (even of the size-1 batch dimension), so this keeps float32
        # results bit for bit equal to theirs
        return torch.from_numpy(batch[0]).permute(2, 0, 1).unsqueeze(0).to(device), boxes
    return torch.from_numpy(batch).permute(0, 3, 1, 2).to(device), boxes


def _device_letterbox(
    images: list[np.ndarray], size: int, device: torch.device
) -> tuple[torch.Tensor, list[SquareLetterbox]]:
    """:func:`prepare_images` on ``device``: pad, BGR, OpenCV's resize, normalise (the host's pixels)."""
    from handzoo.imaging.cv2_resize import resize_linear_u8

    mean = torch.as_tensor(IMAGENET_MEAN).to(device, non_blocking=True)[:, None, None]
    std = torch.as_tensor(IMAGENET_STD).to(device, non_blocking=True)[:, None, None]
    out, boxes = [], []
    for img in images:
        h, w = img.shape[:2]
        side = max(h, w)
        bgr = torch.from_numpy(img).to(device, non_blocking=True).permute(2, 0, 1).flip(0)
        padded = torch.nn.functional.pad(bgr, (0, side - w, side - h, 0))  # top rows, right columns
        out.append(resize_linear_u8(padded, (size, size)))
        boxes.append(SquareLetterbox(h, w, side, side - h, size))
    x = torch.stack(out).to(torch.float32) / 255.0
    return (x - mean) / std, boxes
