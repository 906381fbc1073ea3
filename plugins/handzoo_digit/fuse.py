"""The inference plan: the authors' float32 arithmetic without their memory-layout conversions.

The authors run DIGIT on NCHW tensors. On the CPU every float32 convolution then goes through
oneDNN: the input is reordered into oneDNN's blocked layout (16 channels per block), the weights
are reordered, the convolution runs, and the output is reordered back to NCHW; BatchNorm, ReLU
and max-pooling are separate passes over NCHW tensors. That is their overhead (a tenth to a third
of their time, more on a loaded machine); the convolutions themselves, most of the time, are
the kernels their outputs depend on, so at equal outputs this plan saves only the overhead (the
opt-in ``nhwc`` plan below is faster and rounds differently).

For inference (eval mode, no autograd, float32 on the CPU) DIGIT runs a cached copy of its
parts that keeps the activations in the blocked layout from one layer to the next and runs
the *same* oneDNN convolution kernels, with weights reordered once per input shape:

* a ``BatchNorm2d`` becomes a depthwise 1x1 convolution whose weight and bias are the
  normalisation's own scale and shift, read back from PyTorch's batch norm (it computes
  ``fma(x, scale, shift)``, and so does the depthwise kernel: the same bits);
* ReLU, max-pooling and sums run on the blocked tensors (exact operations);
* nearest and bilinear up-sampling, concatenation and the heads' reductions run on plain
  tensors, as in the authors' code.

Every operation rounds as the authors' does, so the plan's outputs equal those of
``DIGIT(fuse_inference=False)`` (the parts as they are), which equal the authors' float32 outputs
bit for bit on the same machine and thread count (see the plugin's parity tests). Parts that are
not DIGIT's own modules run as they are. Other devices and dtypes run a copy with BatchNorm
folded into the convolutions (computed in float64, rounded once), in channels-last memory.
Folding the batch norms into this plan's convolutions as well (one pass over memory less per
batch norm) was measured at up to 1.5 of the authors' float32 noise floors (handedness logits;
1.1 on the heatmaps and part logits) on the seeded crops, so the default plan keeps them apart.

Batches run in chunks on one-thread workers (:func:`run_chunks`). A single image runs its HRNet
transitions and stages as a task graph on one-thread workers (:mod:`handzoo_digit.taskgraph`:
the branches and fusion terms side by side) and its heads in pieces (:mod:`handzoo_digit.lanes`):
oneDNN's kernels give the same bits on any thread count, so the outputs do not change.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import math
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from handzoo.backbones.fusion import FusedConv2d, fold_conv_bn, mkldnn_available
from handzoo.backbones.workers import in_worker, run_parallel

from .taskgraph import TaskGraph

__all__ = [
    "authors_batch",
    "run_chunks",
    "blocked_copy",
    "fast_copy",
    "fold_conv_bn",
    "folded_copy",
    "mkldnn_available",
    "nhwc_copy",
]

_PACK_CACHE = 8  # (input shape, call) pairs whose reordered weights a convolution keeps
_AUTHORS: ContextVar[tuple[int, int] | None] = ContextVar("digit_authors_call", default=None)


@contextlib.contextmanager
def authors_batch(n: int, threads: int | None = None) -> Iterator[None]:
    """Pick kernels as PyTorch would for one call on ``n`` images with ``threads`` intra-op threads
    (default: the current count) while the plan runs chunks of the batch, possibly on other threads."""
    token = _AUTHORS.set((int(n), int(threads or torch.get_num_threads())))
    try:
        yield
    finally:
        _AUTHORS.reset(token)


def run_chunks(fn: Callable[[torch.Tensor], Any], img: torch.Tensor, chunk: int, workers: int) -> list[Any]:
    """``fn`` on consecutive chunks of ``img`` (at most ``chunk`` images), in order.

    With ``workers > 1`` the chunks run concurrently on that many threads with one intra-op
    thread each (the batch is cut into at least ``workers`` chunks): on a few cores this keeps
    every core busy where one image's small HRNet branches split poorly across threads. The
    blocked plan's kernels and reductions give the same bits on any thread count; its kernel
    choice follows :func:`authors_batch`, which the workers inherit.
    """
    n = img.shape[0]
    size = max(1, min(chunk or n, -(-n // max(workers, 1))))
    starts = range(0, n, size)
    if workers <= 1 or len(starts) == 1:
        return [fn(img[i : i + size]) for i in starts]
    return run_parallel([functools.partial(fn, img[i : i + size]) for i in starts], threads_each=1, workers=workers)


# -- folded copy (other devices) ------------------------------------------------------------------


def _fold_in_place(module: nn.Module) -> None:
    if isinstance(module, nn.Sequential):
        keys = list(module._modules)
        for a, b in zip(keys, keys[1:]):
            ca, cb = module._modules[a], module._modules[b]
            if isinstance(ca, nn.Conv2d) and isinstance(cb, nn.BatchNorm2d):
                module._modules[a] = fold_conv_bn(ca, cb)
                module._modules[b] = nn.Identity()
    names = dict(module.named_children())
    for name, child in names.items():
        if name.startswith("bn") and isinstance(child, nn.BatchNorm2d):
            conv = names.get("conv" + name[2:])
            if isinstance(conv, nn.Conv2d):
                setattr(module, "conv" + name[2:], fold_conv_bn(conv, child))
                setattr(module, name, nn.Identity())
    for child in module.children():
        _fold_in_place(child)


def folded_copy(module: nn.Module) -> nn.Module:
    """An eval-mode deep copy of ``module`` with every conv + BatchNorm pair folded."""
    with torch.inference_mode(False), torch.no_grad():
        out = copy.deepcopy(module).eval()
        _fold_in_place(out)
    return out


# -- the NHWC plan (opt-in: faster, not the authors' arithmetic) -----------------------------------


class _FastBasicBlock(nn.Module):
    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.conv1 = FusedConv2d(block.conv1, relu=True)
        self.conv2 = FusedConv2d(block.conv2, relu=True)
        self.downsample = _fast_sequential(block.downsample) if block.downsample is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.conv2(self.conv1(x), residual=shortcut)


class _FastBottleneck(nn.Module):
    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.conv1 = FusedConv2d(block.conv1, relu=True)
        self.conv2 = FusedConv2d(block.conv2, relu=True)
        self.conv3 = FusedConv2d(block.conv3, relu=True)
        self.downsample = _fast_sequential(block.downsample) if block.downsample is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.conv3(self.conv2(self.conv1(x)), residual=shortcut)


class _FastHRModule(nn.Module):
    """An HRNet module whose fusion sums accumulate in place (same summation order and ReLU)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.branches = nn.ModuleList([_fast(b) for b in module.branches])
        self.fuse_layers = _fast(module.fuse_layers)
        self.single = module.num_branches == 1

    def forward(self, x: list[torch.Tensor]) -> list[torch.Tensor]:
        return _hr_module_forward(self, x)


def _hr_module_forward(module: nn.Module, xs: list[torch.Tensor]) -> list[torch.Tensor]:
    """An HRNet module's branches, then each output's fusion sum in the authors' order, ReLU in place.

    ``module`` holds ``branches``, ``fuse_layers`` (one row of per-branch maps per output) and
    ``single`` (one branch: no fusion).
    """
    xs = [branch(x) for branch, x in zip(module.branches, xs)]
    if module.single:
        return xs
    return [fusion_sum(*[f(x) for f, x in zip(row, xs)]) for row in module.fuse_layers]


def fusion_sum(*terms: torch.Tensor) -> torch.Tensor:
    """One HRNet fusion output: ``relu(((t0 + t1) + t2) + ...)``, summed in the authors' order.

    The first sum is a new tensor (a term may be a branch output that other rows read again);
    the others accumulate in place.
    """
    y = torch.add(terms[0], terms[1])
    for t in terms[2:]:
        y.add_(t)
    return y.relu_()


def _fast_sequential(seq: nn.Sequential) -> nn.Sequential:
    """Conv [Identity] ReLU runs become one FusedConv2d; other layers are kept."""
    mods = [m for m in seq if not isinstance(m, nn.Identity)]
    out: list[nn.Module] = []
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d) and m.padding_mode == "zeros":
            relu = i + 1 < len(mods) and isinstance(mods[i + 1], nn.ReLU)
            out.append(FusedConv2d(m, relu=relu))
            i += 2 if relu else 1
        else:
            out.append(_fast(m))
            i += 1
    return nn.Sequential(*out)


def _is_block(m: nn.Module, name: str) -> bool:
    return type(m).__name__ == name and hasattr(m, "conv1") and hasattr(m, "conv2")


def _fast(module: nn.Module) -> nn.Module:
    if type(module).__name__ == "DigitHRNet" and isinstance(module.bn1, nn.Identity):
        # the stem: conv -> ReLU twice (the BatchNorms are folded)
        module.conv1 = FusedConv2d(module.conv1, relu=True)
        module.conv2 = FusedConv2d(module.conv2, relu=True)
        module.relu = nn.Identity()
    if type(module).__name__ == "HighResolutionModule" and hasattr(module, "fuse_layers"):
        return _FastHRModule(module)
    if _is_block(module, "BasicBlock") and isinstance(module.bn1, nn.Identity):
        return _FastBasicBlock(module)
    if _is_block(module, "Bottleneck") and isinstance(module.bn1, nn.Identity):
        return _FastBottleneck(module)
    if isinstance(module, nn.Sequential):
        return _fast_sequential(module)
    if isinstance(module, nn.Conv2d) and module.padding_mode == "zeros":
        return FusedConv2d(module)
    for name, child in list(module.named_children()):
        setattr(module, name, _fast(child))
    return module


def nhwc_copy(module: nn.Module) -> nn.Module:
    """The opt-in fast plan of a part: BatchNorm folded, fused oneDNN convolutions on NHWC tensors.

    oneDNN's NHWC kernels sum in another order than the NCHW ones the authors run, and folding
    rounds each weight once more: outputs move by about two of the authors' float32 noise floors
    (see the plugin's parity tests). Float32 on a CPU with oneDNN; otherwise the folded copy.
    """
    folded = folded_copy(module)
    p = next(folded.parameters(), None)
    if p is None or p.dtype != torch.float32 or p.device.type != "cpu" or not mkldnn_available():
        return folded.to(memory_format=torch.channels_last)
    with torch.inference_mode(False), torch.no_grad():
        return _fast(folded)


# -- blocked-layout operations (float32, CPU) ------------------------------------------------------


class _Conv(nn.Module):
    """A ``Conv2d`` (or a BatchNorm as a depthwise 1x1 convolution) on oneDNN blocked tensors."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor | None, conv: nn.Conv2d | None = None) -> None:
        super().__init__()
        self.padding = list(conv.padding) if conv is not None else [0, 0]
        self.stride = list(conv.stride) if conv is not None else [1, 1]
        self.dilation = list(conv.dilation) if conv is not None else [1, 1]
        self.groups = conv.groups if conv is not None else weight.shape[0]
        self.register_buffer("weight", weight.detach().float().contiguous().clone(), persistent=False)
        b = bias.detach().float().contiguous().clone() if bias is not None else None
        self.register_buffer("bias", b, persistent=False)
        # (input shape, authors' call) -> weight reordered for oneDNN's kernel on that shape
        self._packed: dict[tuple[Any, ...], torch.Tensor] = {}

    def _authors_use_onednn(self, shape: tuple[int, ...]) -> bool:
        """Whether PyTorch runs this convolution of a plain float32 tensor through oneDNN.

        Its rule (``ConvParams::use_mkldnn``): a 1x1 stride-1 convolution of fewer than 16 images
        on one thread, or a small one of a single image, runs PyTorch's own kernel instead.
        The batch and thread count are the caller's (see :func:`authors_batch`), not the chunk's.
        """
        call = _AUTHORS.get()
        n, threads = call if call is not None else (shape[0], torch.get_num_threads())
        kh, kw = self.weight.shape[-2:]
        strided = any(s != 1 for s in self.stride)
        dilated = any(d != 1 for d in self.dilation)
        one_by_one = kh == 1 and kw == 1
        first = strided or dilated or n >= 16 or not one_by_one or threads > 1
        second = self.groups > 1 or (kh > 3 and kw > 3) or n > 1 or n * math.prod(shape[1:]) > 20480
        return first and second

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution of a blocked tensor, by the kernel PyTorch would pick for a plain one."""
        call = _AUTHORS.get()
        key = (x.shape, call if call is not None else torch.get_num_threads())
        w = self._packed.get(key)
        if w is None:  # this shape and call not seen before (the common case is a hit: oneDNN's kernel)
            shape = tuple(x.shape)
            if self.groups == 1 and not self._authors_use_onednn(shape):
                k = list(self.weight.shape[-2:])
                dense = x.to_dense()
                if any(d != 1 for d in self.dilation):
                    y = F.conv2d(dense, self.weight, self.bias, self.stride, self.padding, self.dilation)
                else:
                    y = torch._C._nn.thnn_conv2d(dense, self.weight, k, self.bias, self.stride, self.padding)
                return y.to_mkldnn()
            w = torch._C._nn.mkldnn_reorder_conv2d_weight(
                self.weight.to_mkldnn(), self.padding, self.stride, self.dilation, self.groups, list(shape)
            )
            if len(self._packed) >= _PACK_CACHE:
                self._packed.clear()
            self._packed[key] = w
        return torch.mkldnn_convolution(x, w, self.bias, self.padding, self.stride, self.dilation, self.groups)


def _bn_scale_shift(bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The per-channel ``(scale, shift)`` PyTorch's eval-mode batch norm applies as ``x * scale + shift``.

    Read back from the batch norm itself (its output at 0 is the shift; at 2^64 it is
    2^64 x scale exactly, the shift being below half a unit in the last place), so they carry
    its own roundings.
    """
    c = bn.num_features
    probe = torch.zeros(1, c, 2, 16)
    probe[:, :, 1] = 2.0**64
    with torch.inference_mode(False), torch.no_grad():
        out = F.batch_norm(
            probe, bn.running_mean.float(), bn.running_var.float(), bn.weight.float() if bn.affine else None,
            bn.bias.float() if bn.affine else None, False, 0.0, bn.eps,
        )  # fmt: skip
    return out[0, :, 1, 0] / 2.0**64, out[0, :, 0, 0].clone()


def _batch_norm(bn: nn.BatchNorm2d) -> _Conv:
    scale, shift = _bn_scale_shift(bn)
    return _Conv(scale.reshape(-1, 1, 1, 1), shift)


class _ReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu_(x)  # its input is always a fresh convolution output


class _MaxPool(nn.Module):
    def __init__(self, pool: nn.MaxPool2d) -> None:
        super().__init__()
        self.args = (pool.kernel_size, pool.stride, pool.padding, pool.dilation, pool.ceil_mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.max_pool2d(x, *self.args)


class _OnDense(nn.Module):
    """A module that needs a plain tensor (up-sampling): to plain, the module, back to blocked."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.module(x.to_dense()).to_mkldnn()


class _NearestUp(nn.Module):
    """Nearest up-sampling by a power of two: each value repeated ``s`` x ``s`` (one copy).

    PyTorch's nearest mode picks source pixel ``floor(i / s)``, exactly so for a power of two;
    its own kernel also copies its input and output to other memory formats first (4x slower
    on HRNet's fusion maps at batch 1).
    """

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        d = x.to_dense() if x.is_mkldnn else x
        n, c, h, w = d.shape
        s = self.scale
        return d[:, :, :, None, :, None].expand(n, c, h, s, w, s).reshape(n, c, h * s, w * s).to_mkldnn()


def _nearest_scale(m: nn.Upsample) -> int | None:
    """The power-of-two integer factor of a nearest ``Upsample`` given by ``scale_factor``, else None."""
    f = m.scale_factor
    if m.mode != "nearest" or m.size is not None or f is None:
        return None
    fs = set(f) if isinstance(f, tuple) else {f}
    if len(fs) != 1:
        return None
    v = float(fs.pop())
    return int(v) if v.is_integer() and v >= 1 and int(v) & (int(v) - 1) == 0 else None


class _Seq(nn.Sequential):
    """A sequence of plan layers, called without ``nn.Module.__call__``'s hook handling.

    The plan's layers have no hooks, and at batch 1 the per-call overhead (about 10 us per layer,
    over a thousand layers) is a tenth of a small convolution's time.
    """

    def forward(self, x: Any) -> Any:
        for m in self._modules.values():
            x = m.forward(x)
        return x


class _Unsupported(Exception):
    """A module the blocked plan has no rule for (its part then runs as it is)."""


def _layer(m: nn.Module) -> nn.Module:
    if isinstance(m, nn.Conv2d):
        if m.padding_mode != "zeros" or isinstance(m.padding, str):
            raise _Unsupported(repr(m))
        return _Conv(m.weight, m.bias, m)
    if isinstance(m, nn.BatchNorm2d):
        if not m.track_running_stats or m.running_mean is None:
            raise _Unsupported(repr(m))
        return _batch_norm(m)
    if isinstance(m, nn.ReLU):
        return _ReLU()
    if isinstance(m, nn.MaxPool2d):
        return _MaxPool(m)
    if isinstance(m, nn.Upsample):
        scale = _nearest_scale(m)
        return _NearestUp(scale) if scale else _OnDense(m)
    if isinstance(m, nn.Identity):
        return nn.Identity()
    if isinstance(m, nn.Sequential):
        return _Seq(*[_layer(c) for c in m])
    if type(m).__name__ in ("BasicBlock", "Bottleneck"):
        return _Block(m)
    raise _Unsupported(type(m).__name__)


class _Block(nn.Module):
    """A ResNet basic / bottleneck block: convolutions, ``out += shortcut``, ReLU."""

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        for name in ("drop_block", "aa", "se", "drop_path"):
            extra = getattr(block, name, None)
            if extra is not None and not isinstance(extra, nn.Identity):
                raise _Unsupported(f"{type(block).__name__}.{name}")
        n = 3 if hasattr(block, "conv3") else 2
        layers: list[nn.Module] = []
        for k in range(1, n + 1):
            act = getattr(block, f"act{k}", None) if hasattr(block, f"act{k}") else getattr(block, "relu", None)
            if not isinstance(getattr(block, f"bn{k}"), nn.BatchNorm2d) or not isinstance(act, nn.ReLU):
                raise _Unsupported(f"{type(block).__name__} layer {k}")
            layers += [_layer(getattr(block, f"conv{k}")), _layer(getattr(block, f"bn{k}"))]
            if k < n:
                layers.append(_ReLU())
        self.body = _Seq(*layers)
        self.downsample = _layer(block.downsample) if block.downsample is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body.forward(x)
        out.add_(x if self.downsample is None else self.downsample.forward(x))
        return torch.relu_(out)


class _HRModule(nn.Module):
    """An HRNet module: branches, then each output row summed in order and rectified."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        if not isinstance(getattr(module, "fuse_act", nn.ReLU()), nn.ReLU):
            raise _Unsupported("HighResolutionModule.fuse_act")
        self.branches = nn.ModuleList([_layer(b) for b in module.branches])
        self.single = module.num_branches == 1
        self.fuse_layers = nn.ModuleList(
            [] if self.single else [nn.ModuleList([_layer(f) for f in row]) for row in module.fuse_layers]
        )

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        return _hr_module_forward(self, xs)

    def add_tasks(self, graph: TaskGraph, xs: list[int]) -> list[int]:
        """Add this module to ``graph``: inputs and outputs are task ids.

        A branch's blocks are one task each (a chain), every fusion term one task and each fusion
        sum one task after its row's terms: the same operations as :meth:`forward`.
        """
        outs = []
        for level, (branch, x) in enumerate(zip(self.branches, xs)):
            blocks = list(branch) if isinstance(branch, _Seq) else [branch]
            for block in blocks:
                x = graph.add(block, x, cost=_cost(block, level))
            outs.append(x)
        if self.single:
            return outs
        sums = []
        for row in self.fuse_layers:
            terms = [
                x if isinstance(f, nn.Identity) else graph.add(f, x, cost=_cost(f, level))
                for level, (f, x) in enumerate(zip(row, outs))
            ]
            sums.append(graph.add(fusion_sum, *terms, cost=0.1))
        return sums


def _cost(module: nn.Module, level: int) -> float:
    """A task's estimated cost: its convolutions' multiply-adds on an input at resolution ``level``
    (1/2**level of the highest resolution), in units of one 3x3 32-to-32 convolution there."""
    pixels, cost = 4.0**-level, 0.05
    for m in module.modules():
        if isinstance(m, _Conv) and m.groups == 1:
            pixels /= m.stride[0] * m.stride[1]
            cost += m.weight[0].numel() * m.weight.shape[0] * pixels / (9 * 32 * 32)
    return cost


class _HRNet(nn.Module):
    """DIGIT's HRNet backbone on blocked tensors: plain NCHW crops in, ``[plain feature]`` out."""

    reads_blocked = True

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.stem = _Seq(
            _layer(net.conv1), _layer(net.bn1), _ReLU(), _layer(net.conv2), _layer(net.bn2), _ReLU()
        )  # fmt: skip
        self.layer1 = _layer(net.layer1)
        self.num_stages = net.num_stages
        for s in range(net.num_stages):
            trans = getattr(net, f"transition{s + 1}")
            setattr(self, f"transition{s + 1}", nn.ModuleList([_layer(t) for t in trans]))
            stage = getattr(net, f"stage{s + 2}")
            setattr(self, f"stage{s + 2}", nn.ModuleList([_HRModule(m) for m in stage]))

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        ys = [self.layer1(self.stem(images.contiguous().to_mkldnn()))]
        lanes = min(torch.get_num_threads(), 4)  # HRNet-W32 has at most four branches side by side
        if images.shape[0] == 1 and lanes > 1 and not in_worker():
            return [self._stages_in_lanes(ys[0], lanes).to_dense()]
        for s in range(self.num_stages):
            trans = getattr(self, f"transition{s + 1}")
            xs = [t(ys[i] if i < len(ys) else ys[-1]) for i, t in enumerate(trans)]
            for module in getattr(self, f"stage{s + 2}"):
                xs = module(xs)
            ys = xs
        return [ys[0].to_dense()]

    def _stages_in_lanes(self, x: torch.Tensor, lanes: int) -> torch.Tensor:
        """The transitions and stages as a task graph on ``lanes`` workers, one intra-op thread each.

        One image's small convolutions split poorly across threads; its branches do not. Each
        task is one of :meth:`forward`'s operations on one thread, and oneDNN's convolutions give
        the same bits on any thread count, so the output equals :meth:`forward`'s. The graph is
        built once (about 2 ms of Python per image otherwise) and run on each new ``x``.
        """
        graph, x_id, y_id = self._graph()
        return graph.run(lanes, inputs={x_id: x})[y_id]

    def _graph(self) -> tuple[TaskGraph, int, int]:
        """The stages' task graph (built on first use and kept), its input task and its output task."""
        built = self.__dict__.get("_stages_graph")
        if built is None:
            graph = TaskGraph()
            x_id = graph.input()
            ys = [x_id]
            for s in range(self.num_stages):
                trans = getattr(self, f"transition{s + 1}")
                xs = []
                for i, t in enumerate(trans):
                    level = min(i, len(ys) - 1)
                    tid = ys[level] if isinstance(t, nn.Identity) else graph.add(t, ys[level], cost=_cost(t, level))
                    xs.append(tid)
                for module in getattr(self, f"stage{s + 2}"):
                    xs = module.add_tasks(graph, xs)
                ys = xs
            built = self.__dict__["_stages_graph"] = (graph, x_id, ys[0])
        return built


def _blocked(x: torch.Tensor) -> torch.Tensor:
    return x if x.is_mkldnn else x.contiguous().to_mkldnn()


class _SegmHead(nn.Module):
    reads_blocked = True

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        from .heads import _up2

        self.up = _up2
        self.decode = _layer(head.decode)
        self.classify = _layer(head.classify)

    def forward(self, features: Any, **ctx: Any) -> dict[str, torch.Tensor]:
        x = features[0] if isinstance(features, (list, tuple)) else features
        return {"segm_logits": self.classify(self.decode(_blocked(self.up(x.contiguous())))).to_dense()}


class _UNet(nn.Module):
    def __init__(self, unet: nn.Module) -> None:
        super().__init__()
        for name in ("enc0", "enc1", "enc2", "enc3", "dec1", "dec2", "dec3", "out"):
            setattr(self, name, _layer(getattr(unet, name)))
        self.up_cat = unet._up_cat

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x1 = self.enc0(x)
        x2 = self.enc1(F.max_pool2d(x1, 2))
        x3 = self.enc2(F.max_pool2d(x2, 2))
        x4 = self.enc3(F.max_pool2d(x3, 2))
        y = self.dec1(_blocked(self.up_cat(x4.to_dense(), x3.to_dense())))
        y = self.dec2(_blocked(self.up_cat(y.to_dense(), x2.to_dense())))
        y = self.dec3(_blocked(self.up_cat(y.to_dense(), x1.to_dense())))
        return self.out(y)


class _Merge(nn.Module):
    reads_blocked = True

    def __init__(self, merge: nn.Module) -> None:
        super().__init__()
        self.encoder = _layer(merge.encoder)
        self.unet = _UNet(merge.unet)

    def forward(self, features: Any, **ctx: Any) -> dict[str, torch.Tensor]:
        x = features[0] if isinstance(features, (list, tuple)) else features
        segm = self.encoder(_blocked(ctx["segm_logits"])).to_dense()
        # the merged map stays blocked: the joint and root heads read it as it is
        return {"merged": self.unet(torch.cat([x.contiguous(), segm], dim=1).to_mkldnn())}


class _JointHead(nn.Module):
    reads_blocked = True

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.heatmap = _layer(head.heatmap)
        self.depth = _layer(head.depth)
        self.beta = head.beta

    def forward(self, features: Any, **ctx: Any) -> dict[str, torch.Tensor]:
        from .heads import soft_argmax_2d

        x = _blocked(features[0] if isinstance(features, (list, tuple)) else features)
        hm = self.heatmap(x).to_dense()
        depth = self.depth(x).to_dense()
        xy, prob = soft_argmax_2d(hm, self.beta)  # the authors' summation order
        z = (prob * depth).sum((2, 3))
        return {"joints25d": torch.cat([xy, z[..., None]], dim=2), "heatmaps": hm, "heatmap_prob": prob}


class _RootHandHead(nn.Module):
    reads_blocked = True

    def __init__(self, head: nn.Module) -> None:
        super().__init__()
        self.trunk = _layer(head.trunk)
        self.root_fc = head.root_fc
        self.hand_fc = head.hand_fc

    def pooled(self, features: Any) -> torch.Tensor:
        """The trunk's mean feature (B, 512) of each image."""
        x = _blocked(features[0] if isinstance(features, (list, tuple)) else features)
        return self.trunk(x).to_dense().flatten(2).mean(2)

    def from_pooled(self, feat: torch.Tensor) -> dict[str, torch.Tensor]:
        """The two MLPs (their matrix products round by batch size: give the whole batch)."""
        from .heads import soft_argmax_1d

        root = self.root_fc(feat)
        return {"root_logits": root, "rel_root_bin": soft_argmax_1d(root), "hand_logits": self.hand_fc(feat)}

    def forward(self, features: Any, **ctx: Any) -> dict[str, torch.Tensor]:
        return self.from_pooled(self.pooled(features))


_RULES: dict[str, Callable[[nn.Module], nn.Module]] = {
    "DigitHRNet": _HRNet,
    "DigitSegmHead": _SegmHead,
    "DigitMerge": _Merge,
    "DigitJointHead": _JointHead,
    "DigitRootHandHead": _RootHandHead,
}


def blocked_copy(module: nn.Module) -> nn.Module | None:
    """The blocked-layout plan of one of DIGIT's parts, or None when it has no rule for it.

    The copy shares no parameters with ``module`` (weights are copied, reordered on first use
    per input shape), takes and returns plain tensors (DIGIT's merge returns its map blocked;
    the two heads that read it accept either) and computes in float32 on the CPU.
    """
    rule = _RULES.get(type(module).__name__)
    if rule is None:
        return None
    try:
        with torch.inference_mode(False), torch.no_grad():
            return rule(module).eval()
    except _Unsupported:
        return None


def fast_copy(module: nn.Module) -> nn.Module:
    """The inference plan of one of DIGIT's parts.

    Float32 on a CPU with oneDNN: :func:`blocked_copy` (the authors' arithmetic; a part without a
    rule runs as it is). Otherwise :func:`folded_copy` in channels-last memory.
    """
    p = next(module.parameters(), None)
    if p is not None and p.dtype == torch.float32 and p.device.type == "cpu" and mkldnn_available():
        plan = blocked_copy(module)
        return plan if plan is not None else module
    return folded_copy(module).to(memory_format=torch.channels_last)
