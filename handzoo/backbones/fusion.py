"""Inference-time fusion shared by the methods' CPU plans: BatchNorm folded in float64, oneDNN plans.

Folding computes ``bn(layer(x))`` as one layer whose weights are evaluated in float64 and rounded
once to the model's dtype, so a folded float32 network differs from the unfolded one at float32
noise level only (and not at all in float64).

:func:`fused_resnet_trunk` turns a plain ResNet trunk (timm/torchvision basic or bottleneck blocks)
into oneDNN calls on channels-last tensors: each convolution with its BatchNorm folded, weights
pre-packed once per input shape, ReLUs and the residual sum (with its final ReLU) run inside the
convolutions (``torch.ops.mkldnn._convolution_pointwise``). Fusing is exact; folding rounds each
weight once.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

__all__ = [
    "fold_bn",
    "fold_conv_bn",
    "mkldnn_available",
    "PlanCache",
    "tensor_version",
    "weights_key",
    "module_weights_key",
    "FusedConv2d",
    "FusedTrunk",
    "PackedLinear",
    "fused_resnet_trunk",
]


def fold_bn(
    weight: torch.Tensor, bias: torch.Tensor | None, bn: nn.BatchNorm1d | nn.BatchNorm2d
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight', bias')`` of a conv/linear layer equal to ``bn(layer(x))`` in eval mode.

    Args:
        weight: (C_out, ...) layer weight.
        bias: (C_out,) layer bias or None.
        bn: the BatchNorm that follows (its running statistics are used).

    Returns:
        The folded weight and bias, computed in float64 and cast to ``weight``'s dtype.
    """
    dtype = weight.dtype
    w = weight.detach().to(torch.float64)
    b = (
        bias.detach().to(torch.float64)
        if bias is not None
        else torch.zeros(w.shape[0], dtype=torch.float64, device=w.device)
    )
    mean = bn.running_mean.detach().to(torch.float64)
    var = bn.running_var.detach().to(torch.float64)
    gamma = bn.weight.detach().to(torch.float64) if bn.weight is not None else torch.ones_like(mean)
    beta = bn.bias.detach().to(torch.float64) if bn.bias is not None else torch.zeros_like(mean)
    scale = gamma / torch.sqrt(var + bn.eps)
    w = w * scale.reshape(-1, *([1] * (w.dim() - 1)))
    return w.to(dtype), ((b.to(w.device) - mean) * scale + beta).to(dtype)


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new convolution (with bias) equal to ``bn(conv(x))`` in eval mode; see :func:`fold_bn`."""
    weight, bias = fold_bn(conv.weight, conv.bias, bn)
    out = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        conv.stride,
        conv.padding,
        conv.dilation,
        conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
        device=weight.device,
        dtype=weight.dtype,
    )
    with torch.no_grad():
        out.weight.copy_(weight)
        out.bias.copy_(bias)
    return out


def mkldnn_available() -> bool:
    """Whether oneDNN's fused convolution operators exist in this torch build."""
    return bool(torch.backends.mkldnn.is_available()) and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


def tensor_version(t: torch.Tensor) -> int:
    """A tensor's in-place change counter, part of the key a derived plan is kept under; -1 for
    inference tensors (a model moved inside ``inference_mode``), which have none and cannot change
    in place."""
    try:
        return int(t._version)
    except RuntimeError:
        return -1


def weights_key(tensors: Iterable[torch.Tensor]) -> tuple:
    """The key a plan derived from ``tensors`` is kept under: each one's storage address,
    in-place change counter (:func:`tensor_version`), dtype and device, in order. It changes when
    a weight is replaced, modified in place, or moved to another dtype or device."""
    return tuple((t.data_ptr(), tensor_version(t), t.dtype, t.device) for t in tensors)


def _walk(module: nn.Module) -> tuple[list[tuple[dict, str, Any]], list[tuple[dict, int]], list[torch.Tensor]]:
    """Every (dict, name, entry) of the module tree's ``_modules``, ``_parameters`` and ``_buffers``,
    each such dict with its size, and the parameters and buffers in order."""
    entries, sizes, tensors = [], [], []
    for m in module.modules():
        for d in (m._modules, m._parameters, m._buffers):
            sizes.append((d, len(d)))
            entries.extend((d, name, value) for name, value in d.items())
        tensors.extend(t for t in itertools.chain(m._parameters.values(), m._buffers.values()) if t is not None)
    return entries, sizes, tensors


def _same_tree(walk: tuple) -> bool:
    """No submodule, parameter or buffer of a :func:`_walk` was added, removed or replaced since."""
    entries, sizes, _ = walk
    return all(len(d) == n for d, n in sizes) and all(d.get(name) is value for d, name, value in entries)


def module_weights_key(module: nn.Module, cache: dict | None = None) -> tuple:
    """:func:`weights_key` of a module's parameters and buffers.

    Args:
        module: the module whose weights a plan is derived from.
        cache: a dict (e.g. the owner's :class:`PlanCache`) to keep the walk of the module tree
            in (~0.5 ms on a ResNet-34): it is redone only when a submodule, parameter or buffer
            was added, removed or replaced. Without it the tree is walked on every call.
    """
    if cache is None:
        return weights_key(itertools.chain(module.parameters(), module.buffers()))
    walk = cache.get("weights_walk")
    if walk is None or not _same_tree(walk):
        walk = _walk(module)
        cache["weights_walk"] = walk
    return weights_key(walk[2])


class PlanCache(dict):
    """A dict holding a derived inference plan: copies and pickles of its owner start empty
    (pre-packed oneDNN weights can be neither copied nor pickled, and are rebuilt on demand)."""

    def __deepcopy__(self, memo: dict) -> PlanCache:
        return PlanCache()

    def __reduce__(self) -> tuple:
        return (PlanCache, ())


class FusedConv2d(nn.Module):
    """One oneDNN convolution + folded BatchNorm, with an optional fused ReLU / residual sum.

    Args:
        conv: the convolution.
        bn: the BatchNorm that follows it (None: the convolution alone).
        relu: apply a ReLU after the (residual) sum.
    """

    def __init__(self, conv: nn.Conv2d, bn: nn.BatchNorm2d | None = None, relu: bool = False) -> None:
        super().__init__()
        if bn is not None:
            w, b = fold_bn(conv.weight, conv.bias, bn)
        else:
            w = conv.weight.detach().clone()
            b = conv.bias.detach().clone() if conv.bias is not None else torch.zeros(w.shape[0], dtype=w.dtype)
        self.padding, self.stride = list(conv.padding), list(conv.stride)
        self.dilation, self.groups, self.relu = list(conv.dilation), conv.groups, relu
        self.register_buffer("weight", w.contiguous(memory_format=torch.channels_last), persistent=False)
        self.register_buffer("bias", b.contiguous(), persistent=False)
        self._packed: dict[tuple, torch.Tensor] = {}

    def _w(self, shape: tuple) -> torch.Tensor:
        w = self._packed.get(shape)
        if w is None:
            w = torch.ops.mkldnn._reorder_convolution_weight(
                self.weight, self.padding, self.stride, self.dilation, self.groups, list(shape)
            )
            if len(self._packed) > 8:
                self._packed.clear()
            self._packed[shape] = w
        return w

    def direct_for(self, shape: tuple[int, ...]) -> FusedConv2d:  # noqa: ARG002 - the protocol's signature
        """The plain oneDNN convolution this module runs on an input of ``shape``: itself
        (a replacement such as a Winograd convolution may run its own algorithm on some shapes
        and answer None there; see :class:`FusedTrunk`)."""
        return self

    def bound_args(self, shape: tuple[int, ...], residual: bool) -> tuple:
        """The arguments after the input (and the residual) of oneDNN's call on an input of
        ``shape``: ``_convolution_pointwise(x, *args)`` or ``.binary(x, residual, *args)``."""
        common = (self._w(tuple(shape)), self.bias, self.padding, self.stride, self.dilation, self.groups)
        if residual:
            return (*common, "add", 1.0, "relu" if self.relu else None, [], "")
        return (*common, "relu" if self.relu else "none", [], "")

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        """``relu?(conv(x) [+ residual])`` on channels-last float32 CPU tensors."""
        x = x.contiguous(memory_format=torch.channels_last)
        conv, conv_add = _conv_ops()
        if residual is None:
            return conv(x, *self.bound_args(x.shape, residual=False))
        residual = residual.contiguous(memory_format=torch.channels_last)
        return conv_add(x, residual, *self.bound_args(x.shape, residual=True))


class _FusedBlock(nn.Module):
    """A ResNet block (basic or bottleneck) as fused convolutions: the last one adds and rectifies."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        convs = [n for n in ("conv1", "conv2", "conv3") if hasattr(block, n)]
        self.convs = nn.ModuleList(
            FusedConv2d(getattr(block, c), getattr(block, "bn" + c[-1]), relu=True) for c in convs
        )
        ds = block.downsample
        self.downsample = FusedConv2d(ds[0], ds[1], relu=False) if ds is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        out = x
        for conv in self.convs[:-1]:
            out = conv(out)
        return self.convs[-1](out, residual=shortcut)


def _conv_ops() -> tuple[Any, Any]:
    """oneDNN's fused convolution overloads: (unary post-op, binary post-op)."""
    ops = torch.ops.mkldnn._convolution_pointwise
    return ops.default, ops.binary


def _out_shape(conv: FusedConv2d, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The output shape of ``conv`` on an input of ``shape``."""
    n, _, h, w = shape
    c_out, _, kh, kw = conv.weight.shape
    (ph, pw), (sh, sw), (dh, dw) = conv.padding, conv.stride, conv.dilation
    return (n, c_out, (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1, (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1)


def _direct(conv: nn.Module, shape: tuple[int, ...]) -> FusedConv2d | None:
    """The plain oneDNN convolution ``conv`` runs on an input of ``shape`` (see
    :meth:`FusedConv2d.direct_for`), or None."""
    direct_for = getattr(conv, "direct_for", None)
    return direct_for(shape) if direct_for is not None else None


def _block_step(block: _FusedBlock, shape: tuple[int, ...]) -> Callable[[torch.Tensor], torch.Tensor] | None:
    """A fused block as one closure of oneDNN calls, arguments bound for an input of ``shape``;
    None when one of its convolutions runs something else at that shape."""
    conv, conv_add = _conv_ops()
    if len(block.convs) < 2:
        return None
    bound, at = [], shape
    for module in block.convs:
        direct = _direct(module, at)
        if direct is None:
            return None
        bound.append(direct.bound_args(at, residual=module is block.convs[-1]))
        at = _out_shape(direct, at)
    last = bound.pop()
    short = None
    if block.downsample is not None:
        downsample = _direct(block.downsample, shape)
        if downsample is None:
            return None
        short = downsample.bound_args(shape, residual=False)

    def step(x: torch.Tensor) -> torch.Tensor:
        shortcut = x if short is None else conv(x, *short)
        out = x
        for args in bound:
            out = conv(out, *args)
        return conv_add(out, shortcut, *last)

    return step


def _module_step(module: nn.Module, shape: tuple[int, ...]) -> Callable[[torch.Tensor], torch.Tensor]:
    """``module`` on an input of ``shape`` as a closure with its arguments bound where it can be."""
    if isinstance(module, _FusedBlock):
        step = _block_step(module, shape)
        if step is not None:
            return step
    elif type(module) is FusedConv2d:
        conv, _ = _conv_ops()
        return functools.partial(_call_with, conv, module.bound_args(shape, residual=False))
    elif type(module) is nn.MaxPool2d and not module.return_indices:
        return functools.partial(
            torch.max_pool2d,
            kernel_size=module.kernel_size,
            stride=module.stride,
            padding=module.padding,
            dilation=module.dilation,
            ceil_mode=module.ceil_mode,
        )
    return module


def _call_with(op: Any, args: tuple, x: torch.Tensor) -> torch.Tensor:
    return op(x, *args)


class FusedTrunk(nn.Sequential):
    """The fused ResNet trunk (stem, max-pool, fused blocks) run as bound oneDNN calls.

    For each input shape the first call binds every convolution's packed weights and arguments
    (one closure per block); later calls run the closures back to back, with no module,
    attribute or cache look-up between two convolutions. On two threads this counts beyond the
    Python time saved: under ``OMP_WAIT_POLICY=PASSIVE`` the second thread sleeps after each
    convolution, and the shorter the gap the cheaper its wake-up (3D-hand's ResNet-34 at batch 1
    on a 2-core VM, alternated in one process: 46.4 vs 48.7 ms median). The calls are the modules'
    own, so the numbers are identical. An element it cannot bind (another module type, or a
    convolution that runs another algorithm at that shape: :meth:`FusedConv2d.direct_for`) is
    called as a module. Slices are ``FusedTrunk`` s too. Bound calls are kept for a few shapes
    and dropped by copies and pickles; a plan whose weights change is rebuilt, not reused.
    """

    _MAX_SHAPES = 4

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._programs: dict[tuple, list[Callable[[torch.Tensor], torch.Tensor]]] = PlanCache()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The trunk on a float32 CPU batch (made channels-last first)."""
        x = x.contiguous(memory_format=torch.channels_last)
        key = (tuple(x.shape), x.dtype, x.device)
        program = self._programs.get(key)
        if program is None:
            program = []
            for module in self:
                step = _module_step(module, tuple(x.shape))
                x = step(x)
                program.append(step)
            if len(self._programs) >= self._MAX_SHAPES:
                self._programs.clear()
            self._programs[key] = program
            return x
        for step in program:
            x = step(x)
        return x


def _plain_block(block: nn.Module) -> bool:
    """A torchvision/timm basic or bottleneck block without extras (SE, attention, drop-path)."""
    for name in ("drop_block", "aa", "se", "drop_path"):
        m = getattr(block, name, None)
        if m is not None and not isinstance(m, nn.Identity):
            return False
    for name in ("bn1", "bn2", "bn3"):
        if hasattr(block, name) and not isinstance(getattr(block, name), nn.BatchNorm2d):
            return False
    for name in ("act1", "act2", "act3", "relu"):
        if hasattr(block, name) and not isinstance(getattr(block, name), nn.ReLU):
            return False
    ds = getattr(block, "downsample", None)
    ok_ds = ds is None or (isinstance(ds, nn.Sequential) and len(ds) == 2 and isinstance(ds[1], nn.BatchNorm2d))
    return ok_ds and hasattr(block, "conv1") and hasattr(block, "bn1")


class _FusedStages(nn.Module):
    """The stem and ``layer1..4`` as fused modules, returning the maps of some stages."""

    def __init__(self, stem: nn.Module, layers: list[nn.Sequential], out_indices: tuple[int, ...]) -> None:
        super().__init__()
        self.stem, self.layers, self.out_indices = stem, nn.ModuleList(layers), out_indices

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        feats = [self.stem[0](x)]
        x = self.stem[1](feats[0])
        for layer in self.layers:
            x = layer(x)
            feats.append(x)
        return tuple(feats[i] for i in self.out_indices)


def fused_resnet_trunk(trunk: nn.Module, out_indices: tuple[int, ...] | None = None) -> nn.Module | None:
    """The oneDNN plan of a ResNet trunk (``conv1, bn1, act1, maxpool, layer1..4``), or None.

    None when oneDNN's fused operators are missing, the weights are not float32 on the CPU, or a
    block is not a plain ResNet block (the caller then keeps its eager path).

    Args:
        trunk: a module with the stages as attributes (``conv1`` any convolution, ``bn1`` its
            BatchNorm, ``maxpool``, ``layer1``..``layer4`` of basic/bottleneck blocks), in eval mode.
        out_indices: None to return the ``layer4`` map alone, else a tuple of the maps of these
            stages (timm's feature indices: 0 the stem's output before the max-pool, 1..4 the layers).

    Returns:
        A :class:`FusedTrunk` mapping (B, C, H, W) images to the ``layer4`` features
        (channels-last), or a module returning the tuple of the ``out_indices`` maps.
    """
    w = getattr(getattr(trunk, "conv1", None), "weight", None)
    if not isinstance(w, torch.Tensor) or w.dtype != torch.float32 or w.device.type != "cpu":
        return None
    if not mkldnn_available() or not isinstance(getattr(trunk, "bn1", None), nn.BatchNorm2d):
        return None
    names = ("layer1", "layer2", "layer3", "layer4")
    blocks = [b for name in names for b in getattr(trunk, name)]
    if not all(_plain_block(b) for b in blocks):
        return None
    with torch.inference_mode(False), torch.no_grad():
        stem = FusedConv2d(trunk.conv1, trunk.bn1, relu=True)
        if out_indices is not None:
            layers = [nn.Sequential(*(_FusedBlock(b) for b in getattr(trunk, n))) for n in names]
            return _FusedStages(nn.Sequential(stem, trunk.maxpool), layers, tuple(out_indices))
        return FusedTrunk(stem, trunk.maxpool, *(_FusedBlock(b) for b in blocks))


class PackedLinear(nn.Module):
    """A float32 CPU ``nn.Linear`` (optionally + ReLU) as one oneDNN inner product with weights
    pre-packed per row count (``torch.ops.mkldnn._linear_pointwise``).

    For a few rows and a large weight (e.g. 3 x 4096 -> 2048) this is ~2.5x faster than ``addmm``;
    the numbers are the same to float32 rounding.

    Args:
        linear: the layer (float32, CPU).
        relu: apply a ReLU in the same call.
    """

    def __init__(self, linear: nn.Linear, relu: bool = False) -> None:
        super().__init__()
        self.register_buffer("weight", linear.weight.detach().contiguous(), persistent=False)
        bias = linear.bias.detach() if linear.bias is not None else torch.zeros(linear.out_features)
        self.register_buffer("bias", bias.contiguous(), persistent=False)
        self.attr = "relu" if relu else "none"
        self._packed: dict[int, torch.Tensor] = {}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``relu?(x @ weight.T + bias)`` over the last axis of a float32 CPU tensor."""
        rows = x.reshape(-1, x.shape[-1])
        w = self._packed.get(rows.shape[0])
        if w is None:
            w = torch.ops.mkldnn._reorder_linear_weight(self.weight, rows.shape[0])
            if len(self._packed) > 8:
                self._packed.clear()
            self._packed[rows.shape[0]] = w
        y = torch.ops.mkldnn._linear_pointwise(rows, w, self.bias, self.attr, [], "")
        return y.reshape(*x.shape[:-1], y.shape[-1])
