#!/usr/bin/python3
"""Forward and backward of the built-in operations against PyTorch, in float32.

Each case is an .nnd expression over params a, b (f32) and labels y (i32[4]) and the same
computation in torch. The program's loss is sum(f32(expr) * r) for a random r, so the gradient of r
is the forward value and the gradients of a and b are the backward pass. tests/num/ops_driver
compiles and runs it (usage: ops_vs_torch.py DRIVER WORKDIR).
"""
import math, os, subprocess, sys
import numpy as np
import torch
import torch.nn.functional as F

def sdpa(q, k, v, attn_mask=None, is_causal=False, scale=None):
    """F.scaled_dot_product_attention's definition (this torch may predate it)"""
    s = q @ k.transpose(-2, -1) * (scale if scale is not None else 1 / math.sqrt(q.shape[-1]))
    if is_causal:
        s = s.masked_fill(~torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril(), float("-inf"))
    if attn_mask is not None:
        s = s.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else s + attn_mask
    return torch.softmax(s, -1) @ v

def giou(p, q, eps=1e-7):
    """torchvision.ops.generalized_box_iou_loss(p, q, reduction="none", eps) (torchvision 0.15)"""
    x1, y1, x2, y2 = p.unbind(-1)
    x1g, y1g, x2g, y2g = q.unbind(-1)
    xk1, yk1, xk2, yk2 = torch.max(x1, x1g), torch.max(y1, y1g), torch.min(x2, x2g), torch.min(y2, y2g)
    inter = torch.zeros_like(x1 + x1g)
    mask = (yk2 > yk1) & (xk2 > xk1)
    inter[mask] = ((xk2 - xk1) * (yk2 - yk1))[mask]
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - inter
    iou = inter / (union + eps)
    area_c = (torch.max(x2, x2g) - torch.min(x1, x1g)) * (torch.max(y2, y2g) - torch.min(y1, y1g))
    return 1 - (iou - (area_c - union) / (area_c + eps))

# boxes (x1, y1, x1 + w, y1 + h) from 4 numbers in (-2, 2): the corner 0.3 of the first two, (w, h) the exp of
# the others: some overlap, others not
box = lambda t: torch.cat([t[..., :2] * 0.3, t[..., :2] * 0.3 + t[..., 2:].exp()], -1)
BOX = lambda n: f"concat([{n}[..., 0:2] * 0.3, {n}[..., 0:2] * 0.3 + exp({n}[..., 2:4])], axis: -1)"

# name, expression ("let x = e; " statements may come first), torch function of (a, b, y), shape of a, shape of b, (lo, hi) of a and b, and
# integer inputs {name: array} besides y (the CTC cases below)
A, B = (4, 5), (4, 5)
CASES = [
    ("neg", "neg(a)", lambda a, b, y: -a), ("abs", "abs(a)", lambda a, b, y: a.abs()),
    ("log1p", "log1p(a)", lambda a, b, y: torch.log1p(a), A, B, (0.1, 3)),
    ("rsqrt", "rsqrt(a)", lambda a, b, y: torch.rsqrt(a), A, B, (0.2, 3)),
    ("square", "square(a)", lambda a, b, y: a * a), ("sin", "sin(a)", lambda a, b, y: a.sin()),
    ("cos", "cos(a)", lambda a, b, y: a.cos()), ("erf", "erf(a)", lambda a, b, y: torch.erf(a)),
    ("exp", "exp(a)", lambda a, b, y: a.exp()), ("tanh", "tanh(a)", lambda a, b, y: a.tanh()),
    ("sigmoid", "sigmoid(a)", lambda a, b, y: a.sigmoid()), ("relu", "relu(a)", lambda a, b, y: F.relu(a)),
    ("relu6", "relu6(a * 4.0)", lambda a, b, y: F.relu6(a * 4)),
    ("leaky_relu", "leaky_relu(a, slope: 0.2)", lambda a, b, y: F.leaky_relu(a, 0.2)),
    ("elu", "elu(a, alpha: 1.5)", lambda a, b, y: F.elu(a, 1.5)), ("gelu", "gelu(a)", lambda a, b, y: F.gelu(a)),
    ("silu", "silu(a)", lambda a, b, y: F.silu(a)), ("softplus", "softplus(a * 3.0)", lambda a, b, y: F.softplus(a * 3)),
    ("mish", "mish(a)", lambda a, b, y: F.mish(a)), ("hardswish", "hardswish(a * 4.0)", lambda a, b, y: F.hardswish(a * 4)),
    ("hardsigmoid", "hardsigmoid(a * 4.0)", lambda a, b, y: F.hardsigmoid(a * 4)),
    ("sign", "sign(a) * a", lambda a, b, y: torch.sign(a) * a), ("floor", "floor(a * 3.0) + a", lambda a, b, y: torch.floor(a * 3) + a),
    ("ceil", "ceil(a * 3.0)", lambda a, b, y: torch.ceil(a * 3)), ("round", "round(a * 3.0)", lambda a, b, y: torch.round(a * 3)),
    ("clamp", "clamp(a, lo: -0.5, hi: 0.7)", lambda a, b, y: a.clamp(-0.5, 0.7)),
    ("maximum", "maximum(a, b)", lambda a, b, y: torch.maximum(a, b)), ("minimum", "minimum(a, b)", lambda a, b, y: torch.minimum(a, b)),
    ("pow", "pow_ab", None),
    ("min", "min(a, axis: 1)", lambda a, b, y: a.amin(1)), ("max", "max(a, axis: 0)", lambda a, b, y: a.amax(0)),
    ("prod", "prod(a, axis: 1)", lambda a, b, y: a.prod(1)), ("variance", "variance(a, axis: 1)", lambda a, b, y: a.var(1)),
    ("std", "std(a, axis: 0, keepdim: true)", lambda a, b, y: a.std(0, keepdim=True)),
    ("variance_all", "variance(a)", lambda a, b, y: a.var()),
    ("logsumexp", "logsumexp(a * 3.0, axis: 1)", lambda a, b, y: torch.logsumexp(a * 3, 1)),
    ("argmin", "argmin(a, axis: 1)", lambda a, b, y: a.argmin(1)), ("argmax", "argmax(a, axis: 0)", lambda a, b, y: a.argmax(0)),
    ("softmax", "softmax(a * 3.0, axis: 1)", lambda a, b, y: F.softmax(a * 3, 1)),
    ("log_softmax", "log_softmax(a * 3.0, axis: 0)", lambda a, b, y: F.log_softmax(a * 3, 0)),
    ("cumsum", "cumsum(a, axis: 1)", lambda a, b, y: a.cumsum(1)),
    ("squeeze", "squeeze(unsqueeze(a, 1), axis: 1)", lambda a, b, y: a.unsqueeze(1).squeeze(1)),
    ("broadcast_to", "broadcast_to(a, [2, 4, 5])", lambda a, b, y: a.broadcast_to(2, 4, 5)),
    ("concat", "concat([a, b, a], axis: 1)", lambda a, b, y: torch.cat([a, b, a], 1)),
    ("stack", "stack([a, b], axis: 2)", lambda a, b, y: torch.stack([a, b], 2)),
    ("chunk", "concat(chunk(a, 2, axis: 0), axis: 1)", lambda a, b, y: torch.cat(torch.chunk(a, 2, 0), 1)),
    ("split", "concat(split(a, [1, 3], axis: 0), axis: 0) + concat(split(a, 2, axis: 0), axis: 0)", None),
    ("pad", "pad(a, [1, 2, 0, 1], value: 0.5)", lambda a, b, y: F.pad(a, [1, 2, 0, 1], value=0.5)),
    ("tril", "tril(a)", lambda a, b, y: a.tril()), ("triu", "triu(a, diagonal: 1)", lambda a, b, y: a.triu(1)),
    ("arange", "a * arange(5)", lambda a, b, y: a * torch.arange(5)),
    ("full", "a * full([4, 5], 2.5) + ones([5]) - zeros([4, 1])", lambda a, b, y: a * 2.5 + 1),
    ("one_hot", "one_hot(y, 5)", lambda a, b, y: F.one_hot(y.long(), 5)),
    ("embedding", "embedding(b, y)", lambda a, b, y: F.embedding(y.long(), b)),
    ("gather", "gather(a, y, 1)", lambda a, b, y: torch.index_select(a, 1, y.long())),
    ("take_along", "take_along(a, reshape(y, [4, 1]), 1)", lambda a, b, y: torch.gather(a, 1, y.long().reshape(4, 1))),
    ("scatter_add", "scatter_add(a, broadcast_to(reshape(y, [4, 1]), [4, 5]), b, 1)", None),
    ("nll_loss", "nll_loss(log_softmax(a, axis: 1), y)", lambda a, b, y: F.nll_loss(F.log_softmax(a, 1), y.long())),
    ("cross_entropy", "cross_entropy(a, y)", lambda a, b, y: F.cross_entropy(a, y.long())),
    ("cross_entropy_ls", "cross_entropy(a, y, label_smoothing: 0.1)", lambda a, b, y: F.cross_entropy(a, y.long(), label_smoothing=0.1)),
    ("cross_entropy_ignore", "cross_entropy(a, y, ignore_index: 2, label_smoothing: 0.2)",
     lambda a, b, y: F.cross_entropy(a, y.long(), ignore_index=2, label_smoothing=0.2)),
    ("cross_entropy_sum", "cross_entropy(a, y, reduction: \"sum\")", lambda a, b, y: F.cross_entropy(a, y.long(), reduction="sum")),
    ("mse", "mse(a, b)", lambda a, b, y: F.mse_loss(a, b)), ("l1", "l1(a, b, reduction: \"sum\")", lambda a, b, y: F.l1_loss(a, b, reduction="sum")),
    ("smooth_l1", "smooth_l1(a, b, beta: 0.5)", lambda a, b, y: F.smooth_l1_loss(a, b, beta=0.5)),
    ("huber", "huber(a, b, delta: 0.7, reduction: \"none\")", lambda a, b, y: F.huber_loss(a, b, delta=0.7, reduction="none")),
    ("bce_with_logits", "bce_with_logits(a * 3.0, sigmoid(b))", lambda a, b, y: F.binary_cross_entropy_with_logits(a * 3, b.sigmoid())),
    ("kl_div", "kl_div(log_softmax(a, axis: 1), softmax(b, axis: 1))",
     lambda a, b, y: F.kl_div(F.log_softmax(a, 1), F.softmax(b, 1), reduction="batchmean")),
    ("cosine_similarity", "cosine_similarity(a, b)", lambda a, b, y: F.cosine_similarity(a, b)),
    ("stop_gradient", "stop_gradient(a) * b", lambda a, b, y: a.detach() * b),
    ("grad_scale", "grad_scale(a, 0.3) * b", None), ("grad_reverse", "grad_reverse(a, scale: 2.0) * b", None),
    ("layer_norm", "layer_norm(a, b, b)", None),
    ("layer_norm_nw", "layer_norm(a * 3.0)", lambda a, b, y: F.layer_norm(a * 3, (5,))),
    ("batch_norm_nchw", "batch_norm(a, zeros([4]), ones([4]), b, b * 0.5, training: true)[0]",
     lambda a, b, y: F.batch_norm(a, torch.zeros(4), torch.ones(4), b, b * 0.5, training=True), (3, 4, 3, 3), (4,)),
    ("batch_norm_nc", "batch_norm(a, zeros([4]), ones([4]), b, training: true, eps: 1e-3)[0]",
     lambda a, b, y: F.batch_norm(a, torch.zeros(4), torch.ones(4), b, training=True, eps=1e-3), (6, 4), (4,)),
    ("batch_norm_eval", "batch_norm(a, full([4], 0.3), full([4], 2.0), b, b, training: false)[0]",
     lambda a, b, y: F.batch_norm(a, torch.full((4,), 0.3), torch.full((4,), 2.0), b, b, training=False), (2, 4, 3), (4,)),
    ("conv2d", "conv2d(a, b, padding: 1, stride: 2)", lambda a, b, y: F.conv2d(a, b, padding=1, stride=2), (2, 3, 6, 6), (4, 3, 3, 3)),
    ("conv2d_groups", "conv2d(a, b, padding: [1, 0], dilation: 2, groups: 2)",
     lambda a, b, y: F.conv2d(a, b, padding=(1, 0), dilation=2, groups=2), (2, 4, 7, 7), (6, 2, 3, 2)),
    ("conv2d_same", "conv2d(a, b, padding: \"same\")", lambda a, b, y: F.conv2d(a, b, padding="same"), (1, 2, 5, 5), (3, 2, 3, 3)),
    ("conv1d", "conv1d(a, b, stride: 2)", lambda a, b, y: F.conv1d(a, b, stride=2), (2, 3, 9), (4, 3, 3)),
    ("conv1d_groups", "conv1d(a, b, padding: 2, dilation: 2, groups: 3)", lambda a, b, y: F.conv1d(a, b, padding=2, dilation=2, groups=3),
     (2, 6, 9), (3, 2, 3)),
    ("conv3d", "conv3d(a, b, stride: [1, 2, 1], padding: 1, dilation: [1, 1, 2], groups: 2)",
     lambda a, b, y: F.conv3d(a, b, stride=(1, 2, 1), padding=1, dilation=(1, 1, 2), groups=2), (2, 4, 5, 6, 5), (6, 2, 3, 2, 2)),
    ("conv3d_same", "conv3d(a, b, padding: \"same\")", lambda a, b, y: F.conv3d(a, b, padding="same"), (1, 2, 4, 3, 5), (3, 2, 3, 1, 3)),
    ("conv_transpose2d", "conv_transpose2d(a, b, b[0, :, 0, 0], stride: 2, padding: 1, output_padding: 1)",
     lambda a, b, y: F.conv_transpose2d(a, b, b[0, :, 0, 0], stride=2, padding=1, output_padding=1), (2, 3, 4, 4), (3, 5, 3, 3)),
    ("conv_transpose2d_groups", "conv_transpose2d(a, b, stride: [2, 1], padding: [0, 1], output_padding: [1, 0], groups: 2, dilation: [1, 2])",
     lambda a, b, y: F.conv_transpose2d(a, b, stride=(2, 1), padding=(0, 1), output_padding=(1, 0), groups=2, dilation=(1, 2)),
     (2, 4, 3, 5), (4, 3, 2, 3)),
    ("conv_transpose2d_depthwise", "conv_transpose2d(a, b, stride: 2, groups: 3)",
     lambda a, b, y: F.conv_transpose2d(a, b, stride=2, groups=3), (1, 3, 4, 4), (3, 1, 3, 3)),
    ("conv_transpose2d_dilated", "conv_transpose2d(a, b, output_padding: 1, dilation: 2)",
     lambda a, b, y: F.conv_transpose2d(a, b, output_padding=1, dilation=2), (1, 2, 4, 4), (2, 3, 3, 3)),
    ("conv_transpose1d", "conv_transpose1d(a, b, stride: 3, padding: 1, output_padding: 2)",
     lambda a, b, y: F.conv_transpose1d(a, b, stride=3, padding=1, output_padding=2), (2, 3, 5), (3, 4, 3)),
    ("conv_transpose3d", "conv_transpose3d(a, b, stride: 2, padding: [1, 0, 0], output_padding: [1, 0, 1])",
     lambda a, b, y: F.conv_transpose3d(a, b, stride=2, padding=(1, 0, 0), output_padding=(1, 0, 1)), (1, 2, 3, 3, 2), (2, 3, 2, 3, 2)),
    ("max_pool1d", "max_pool1d(a, 3, stride: 2, padding: 1)", lambda a, b, y: F.max_pool1d(a, 3, 2, 1), (2, 3, 9), B),
    ("avg_pool1d", "avg_pool1d(a, 3, stride: 2, padding: 1, count_include_pad: false)",
     lambda a, b, y: F.avg_pool1d(a, 3, 2, 1, count_include_pad=False), (2, 3, 9), B),
    ("max_pool2d_with_indices", "max_pool2d_with_indices(a, 3, stride: 2, padding: 1)[0] * f32(max_pool2d_with_indices(a, 3, stride: 2, padding: 1)[1])",
     lambda a, b, y: (lambda v, i: v * i)(*F.max_pool2d(a, 3, 2, 1, return_indices=True)), (2, 2, 7, 6), B),
    ("max_unpool2d", "max_unpool2d(max_pool2d_with_indices(a, 2)[0] * b, max_pool2d_with_indices(a, 2)[1], 2, output_size: [5, 5])",
     lambda a, b, y: (lambda v, i: F.max_unpool2d(v * b, i, 2, output_size=(5, 5)))(*F.max_pool2d(a, 2, return_indices=True)),
     (2, 3, 5, 5), (2, 3, 2, 2)),
    ("max_pool2d", "max_pool2d(a, 2)", lambda a, b, y: F.max_pool2d(a, 2), (2, 3, 6, 5), B),
    ("max_pool2d_pad", "max_pool2d(a, 3, stride: 2, padding: 1)", lambda a, b, y: F.max_pool2d(a, 3, 2, 1), (2, 2, 7, 6), B),
    ("avg_pool2d", "avg_pool2d(a, 2)", lambda a, b, y: F.avg_pool2d(a, 2), (2, 3, 6, 4), B),
    ("avg_pool2d_pad", "avg_pool2d(a, 3, stride: 2, padding: 1, count_include_pad: false)",
     lambda a, b, y: F.avg_pool2d(a, 3, 2, 1, count_include_pad=False), (2, 2, 7, 6), B),
    ("adaptive_avg_pool2d", "adaptive_avg_pool2d(a, [2, 1])", lambda a, b, y: F.adaptive_avg_pool2d(a, (2, 1)), (2, 3, 6, 4), B),
    ("global_avg_pool", "global_avg_pool(a)", lambda a, b, y: a.mean((2, 3)), (2, 3, 4, 5), B),
    ("upsample", "upsample(a, 2)", lambda a, b, y: F.interpolate(a, scale_factor=2, mode="nearest"), (2, 3, 3, 4), B),
    ("upsample_bilinear", "upsample(a, 2, mode: \"bilinear\")",
     lambda a, b, y: F.interpolate(a, scale_factor=2, mode="bilinear", align_corners=False), (2, 3, 3, 4), B),
    ("upsample_bilinear_23", "upsample(a, [2, 3], mode: \"bilinear\")",
     lambda a, b, y: F.interpolate(a, scale_factor=(2, 3), mode="bilinear", align_corners=False), (1, 2, 4, 3), B),
    ("rand_range", "a * f32(rand([4, 5]) >= 0.0) * f32(rand([2, 4, 5]) < 1.0)", lambda a, b, y: a.expand(2, 4, 5)),
    ("randn_finite", "a * f32(abs(randn([4, 5])) < 7.0)", lambda a, b, y: a),
    ("attention", "attention(a, b, b * 2.0)", lambda a, b, y: sdpa(a, b, b * 2), (2, 3, 4), (2, 5, 4)),
    ("attention_causal", "attention(a, b, b, causal: true, scale: 0.7)",
     lambda a, b, y: sdpa(a, b, b, is_causal=True, scale=0.7), (2, 5, 4), (2, 5, 4)),
    ("attention_bool_mask", "attention(a, b, b, mask: triu(full([3, 5], 1.0)) > 0.5)",
     lambda a, b, y: sdpa(a, b, b, attn_mask=torch.ones(3, 5).triu() > 0.5), (2, 3, 4), (2, 5, 4)),
    ("attention_float_mask", "attention(a, b, b, mask: tril(full([3, 5], -1.5)))",
     lambda a, b, y: sdpa(a, b, b, attn_mask=torch.full((3, 5), -1.5).tril()), (2, 3, 4), (2, 5, 4)),
    ("einsum_bmm", "einsum(\"bqd,bkd->bqk\", a, b)", lambda a, b, y: torch.einsum("bqd,bkd->bqk", a, b), (2, 3, 4), (2, 5, 4)),
    ("einsum_outer", "einsum(\"ij,kj->jki\", a, b)", lambda a, b, y: torch.einsum("ij,kj->jki", a, b), (3, 4), (2, 4)),
    ("einsum_implicit", "einsum(\"ijk,jl\", a, b)", lambda a, b, y: torch.einsum("ijk,jl", a, b), (2, 3, 4), (3, 5)),
    ("einsum_sum_free", "einsum(\"ij,kl->ik\", a, b)", lambda a, b, y: torch.einsum("ij,kl->ik", a, b), (3, 4), (2, 5)),
    ("einsum_transpose", "einsum(\"ijk->kij\", a)", lambda a, b, y: torch.einsum("ijk->kij", a), (2, 3, 4), B),
    ("einsum_sum", "einsum(\"ijk->j\", a)", lambda a, b, y: torch.einsum("ijk->j", a), (2, 3, 4), B),
    ("einsum_trace", "einsum(\"ii->\", a)", lambda a, b, y: torch.einsum("ii->", a), (4, 4), B),
    ("einsum_diag", "einsum(\"ii->i\", a)", lambda a, b, y: torch.einsum("ii->i", a), (4, 4), B),
    ("repeat", "repeat(a, [2, 1, 3])", lambda a, b, y: a.repeat(2, 1, 3), (4, 5), B),
    ("repeat_ones", "repeat(a, [1, 1])", lambda a, b, y: a.repeat(1, 1)),
    ("tile", "tile(a, [3])", lambda a, b, y: torch.tile(a, (3,)), (2, 1, 3), B),
    ("group_norm", "group_norm(a, 2, b, b * 0.5)", lambda a, b, y: F.group_norm(a, 2, b, b * 0.5), (3, 4, 2, 3), (4,)),
    ("group_norm_nw", "group_norm(a * 3.0, 1, eps: 1e-3)", lambda a, b, y: F.group_norm(a * 3, 1, eps=1e-3), (2, 6, 5), B),
    ("instance_norm", "instance_norm(a, b, b)", lambda a, b, y: F.instance_norm(a, weight=b, bias=b), (2, 3, 4, 3), (3,)),
    ("top_k", "top_k(a, 3)[0]", lambda a, b, y: torch.topk(a, 3).values),
    ("top_k_indices", "top_k(a, 2, axis: 0, largest: false)[1]", lambda a, b, y: torch.topk(a, 2, dim=0, largest=False).indices),
    ("top_k_3d", "top_k(a, 2, axis: 1)[0] * f32(top_k(a, 2, axis: 1)[1])",
     lambda a, b, y: (lambda t: t.values * t.indices.float())(torch.topk(a, 2, dim=1)), (2, 5, 3), B),
    ("rms_norm", "rms_norm(a * 3.0)", lambda a, b, y: a * 3 * torch.rsqrt((a * 3).pow(2).mean(-1, keepdim=True) + torch.finfo(torch.float32).eps)),
    ("log", "log(a)", lambda a, b, y: a.log(), A, B, (0.1, 3)), ("sqrt", "sqrt(a)", lambda a, b, y: a.sqrt(), A, B, (0.1, 3)),
    ("sum", "sum(a, axis: 1, keepdim: true) + sum(a, axes: [0, 1])", lambda a, b, y: a.sum(1, keepdim=True) + a.sum()),
    ("sum_all", "sum(a)", lambda a, b, y: a.sum(), (2, 3, 4), B),
    ("mean", "mean(a, axes: [0, 2]) + mean(a)", lambda a, b, y: a.mean((0, 2)) + a.mean(), (2, 3, 4), B),
    ("mean_keepdim", "mean(a, axis: -1, keepdim: true)", lambda a, b, y: a.mean(-1, keepdim=True)),
    ("where", "where(a > b, a * 2.0, b)", lambda a, b, y: torch.where(a > b, a * 2, b)),
    ("flatten", "flatten(a)", lambda a, b, y: a.flatten(1), (2, 3, 4), B),
    ("flatten_from", "flatten(a, from: 0)", lambda a, b, y: a.flatten(0), (2, 3, 4), B),
    ("reshape", "reshape(a, [5, -1])", lambda a, b, y: a.reshape(5, -1)),
    ("transpose", "transpose(a, [2, 0, 1])", lambda a, b, y: a.permute(2, 0, 1), (2, 3, 4), B),
    ("transpose_reverse", "transpose(a)", lambda a, b, y: a.permute(2, 1, 0), (2, 3, 4), B),
    ("dot_T", "a.T", lambda a, b, y: a.transpose(-2, -1), (2, 3, 4), B),
    ("matmul", "matmul(a, b)", lambda a, b, y: torch.matmul(a, b), (2, 3, 4), (4, 5)),
    ("matmul_batched", "matmul(a, b)", lambda a, b, y: torch.matmul(a, b), (2, 3, 4), (2, 4, 5)),
    # the operators; % is C's remainder (its sign the dividend's) on numbers and tensors alike
    ("arith", "(a + b) * (a - b) + a * b", lambda a, b, y: (a + b) * (a - b) + a * b),
    ("div", "a / b", lambda a, b, y: a / b, A, B, (0.5, 2)),
    ("div_neg", "a / (b - 3.0)", lambda a, b, y: a / (b - 3)),
    ("mod", "(a - 0.5) * 3.0 % b", lambda a, b, y: torch.fmod((a - 0.5) * 3, b), A, B, (0.3, 2)),
    ("mod_neg", "a % b", lambda a, b, y: torch.fmod(a, b), A, B, (-2, -0.3)),
    ("mod_int", "a * f32(reshape((y - 2) % 3 + (y + 1) % -2, [4, 1]))",
     lambda a, b, y: a * (torch.fmod(y - 2, 3) + torch.fmod(y + 1, -2)).float().reshape(4, 1)),
    ("power", "a ** b", lambda a, b, y: a ** b, A, B, (0.3, 2)),
    ("matmul_op", "a @ b", lambda a, b, y: a @ b, (2, 3, 4), (4, 5)),
    ("compare", "f32(a == b) + 2.0 * f32(a != b) + 4.0 * f32(a < b) + 8.0 * f32(a <= b) + 16.0 * f32(a > b) + 32.0 * f32(a >= b)",
     lambda a, b, y: (a == b).float() + 2 * (a != b).float() + 4 * (a < b).float() + 8 * (a <= b).float() + 16 * (a > b).float() + 32 * (a >= b).float()),
    ("compare_equal", "f32(round(a) == round(b)) * a + f32(round(a) != round(b)) * b",
     lambda a, b, y: (a.round() == b.round()).float() * a + (a.round() != b.round()).float() * b),
    # random: every element 0 or x / (1 - p), both kinds present, the gradient through the same mask (d = 2 m a, so
    # d (d - 2a) = 0 and its derivative 2 d d' - 2 d - 2 a d' = 0 only if d' = 2 m)
    ("dropout", "let d = dropout(a, 0.5); d * (d - 2.0 * a) + a + f32(min(abs(d)) == 0.0) * f32(max(abs(d)) > 0.0)",
     lambda a, b, y: a + 1),
    # the generalized-IoU loss (torchvision.ops.generalized_box_iou_loss)
    ("giou", f"giou({BOX('a')}, {BOX('b')}, reduction: \"none\")", lambda a, b, y: giou(box(a), box(b)), (6, 4), (6, 4)),
    ("giou_mean", f"giou({BOX('a')}, {BOX('b')}, eps: 1e-3)", lambda a, b, y: giou(box(a), box(b), 1e-3).mean(), (6, 4), (6, 4)),
    ("giou_broadcast", f"giou({BOX('a')}, {BOX('b')}, reduction: \"sum\")", lambda a, b, y: giou(box(a), box(b)).sum(), (2, 5, 4), (5, 4)),
]

class Scale(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, s):
        ctx.s = s
        return x.clone()
    @staticmethod
    def backward(ctx, g):
        return g * ctx.s, None

SPECIAL = {
    "pow": ("pow(b, a)", lambda a, b, y: torch.pow(b, a), A, B, (0.3, 2)),
    "split": (None, lambda a, b, y: torch.cat(torch.split(a, [1, 3], 0), 0) + torch.cat(torch.split(a, 2, 0), 0)),
    "scatter_add": (None, lambda a, b, y: torch.scatter_add(a, 1, y.long().reshape(4, 1).expand(4, 5), b)),
    "grad_scale": (None, lambda a, b, y: Scale.apply(a, 0.3) * b),
    "grad_reverse": (None, lambda a, b, y: Scale.apply(a, -2.0) * b),
    "layer_norm": ("layer_norm(a, b, b)", lambda a, b, y: F.layer_norm(a, (5,), b, b), A, (5,)),
}

# ---- CTC: log_probs [T, N, C] = a, integer inputs tg [N, S], il [N], tl [N] (the 7th field of a case) ----
T_, N_, C_ = 10, 5, 5
TG = np.array([[1, 2, 3, 0], [2, 2, 3, 3], [4, 0, 0, 0], [1, 1, 0, 0], [3, 1, 3, 1]], np.int32)
IL = np.array([10, 6, 9, 2, 8], np.int32)  # sample 1: exactly the 6 frames [2, 2, 3, 3] needs; sample 3: impossible
TL = np.array([3, 4, 1, 2, 0], np.int32)   # sample 4: the empty target
CTC = {"tg": TG, "il": IL, "tl": TL}
TG_B4 = np.where(TG == 4, 0, TG)           # for blank 4
ctc = lambda lp, tg=TG, **kw: F.ctc_loss(lp, torch.tensor(tg).long(), torch.tensor(IL).long(), torch.tensor(TL).long(), **kw)

class CtcLogProbs(torch.autograd.Function):
    """F.ctc_loss(lp, reduction="none", zero_infinity=True) with the derivative w.r.t. lp itself: torch's
    gradient is that of the logits of a log_softmax, exp(lp) * dloss more on the frames t < il of the
    samples with a finite loss"""
    @staticmethod
    def forward(ctx, lp):
        with torch.enable_grad():
            ctx.x = lp.detach().requires_grad_()
            ctx.l = ctc(ctx.x, reduction="none", zero_infinity=True)
        return ctx.l.detach()
    @staticmethod
    def backward(ctx, g):
        gx, = torch.autograd.grad(ctx.l, ctx.x, g)
        finite = torch.isfinite(ctc(ctx.x.detach(), reduction="none"))
        frames = (torch.arange(T_)[:, None] < torch.tensor(IL)[None, :]) & finite[None, :]
        return gx - ctx.x.detach().exp() * (g[None, :] * frames)[:, :, None]

def greedy(lp, blank=0):
    """best-path decoding: the frame argmaxes t < il, repeats merged, blanks dropped, padded with -1"""
    k, out = lp.argmax(2), torch.full((lp.shape[1], lp.shape[0]), -1, dtype=torch.int32)
    for n in range(lp.shape[1]):
        labels = [int(c) for t, c in enumerate(k[:IL[n], n]) if (t == 0 or c != k[t - 1, n]) and c != blank]
        out[n, :len(labels)] = torch.tensor(labels, dtype=torch.int32)
    return out

LP = (T_, N_, C_)
CASES += [
    ("ctc_loss_none", "ctc_loss(log_softmax(a, axis: 2), tg, il, tl, reduction: \"none\", zero_infinity: true)",
     lambda a, b, y: ctc(F.log_softmax(a, 2), reduction="none", zero_infinity=True), LP, B, (-2, 2), CTC),
    ("ctc_loss_mean", "ctc_loss(log_softmax(a * 2.0, axis: 2), tg, il, tl, zero_infinity: true)",
     lambda a, b, y: ctc(F.log_softmax(a * 2, 2), zero_infinity=True), LP, B, (-2, 2), CTC),
    ("ctc_loss_sum_blank4", "ctc_loss(log_softmax(a, axis: 2), tg, il, tl, blank: 4, reduction: \"sum\", zero_infinity: true)",
     lambda a, b, y: ctc(F.log_softmax(a, 2), TG_B4, blank=4, reduction="sum", zero_infinity=True), LP, B, (-2, 2),
     {"tg": TG_B4, "il": IL, "tl": TL}),
    ("ctc_loss_f64", "ctc_loss(f64(log_softmax(a, axis: 2)), tg, il, tl, reduction: \"none\", zero_infinity: true)",
     lambda a, b, y: ctc(F.log_softmax(a, 2).double(), reduction="none", zero_infinity=True), LP, B, (-2, 2), CTC),
    ("ctc_loss_inf", "ctc_loss(stop_gradient(log_softmax(a, axis: 2)), tg, il, tl, reduction: \"none\")",
     lambda a, b, y: ctc(F.log_softmax(a.detach(), 2), reduction="none"), LP, B, (-2, 2), CTC),
    ("ctc_loss_log_probs", "ctc_loss(a, tg, il, tl, reduction: \"none\", zero_infinity: true)",
     lambda a, b, y: CtcLogProbs.apply(a), LP, B, (-3, 0), CTC),
    ("ctc_greedy_decode", "ctc_greedy_decode(a, il)", lambda a, b, y: greedy(a), LP, B, (-2, 2), {"il": IL}),
    ("ctc_greedy_decode_blank2", "ctc_greedy_decode(a, il, blank: 2)", lambda a, b, y: greedy(a, 2), (T_, N_, 3), B, (-2, 2), {"il": IL}),
]

def program(expr, sa, sb, sout, ints):
    dims = lambda s: ", ".join(str(d) for d in s)
    sig = "y: i32[4]" + "".join(f", {k}: i32[{dims(v.shape)}]" for k, v in ints.items())
    args = "".join(f", {k}" for k in ints)
    *lets, expr = expr.split("; ")
    lets = "".join(f"    {l}\n" for l in lets)
    return f"""module M() {{
  param a: f32[{dims(sa)}] = zeros()
  param b: f32[{dims(sb)}] = zeros()
  param r: f32[{dims(sout) or 1}] = zeros()
  forward({sig}) -> f32 {{
{lets}    return sum(f32({expr}) * r)
  }}
}}
train t {{
  model = M()
  loss({sig}) -> f32 {{
    return model(y{args})
  }}
}}
"""

def close(got, want, atol, rtol):
    with np.errstate(invalid="ignore"):
        err = np.where(got == want, 0, np.abs(got - want))  # equal infinities agree
    ok = np.all(err <= atol + rtol * np.abs(want))
    rel = float(np.max(err / np.maximum(np.abs(want), 1e-2))) if err.size else 0.0
    return ok, rel

def main():
    driver, work = sys.argv[1], sys.argv[2]
    rng = np.random.default_rng(7)
    failed, worst_f, worst_b = [], 0.0, 0.0
    for case in CASES:
        name, expr, fn = case[0], case[1], case[2]
        sa, sb, dom = (case[3], case[4], case[5] if len(case) > 5 else (-2, 2)) if len(case) > 3 else (A, B, (-2, 2))
        ints = case[6] if len(case) > 6 else {}
        if name in SPECIAL:
            sp = SPECIAL[name]
            expr = sp[0] or expr
            fn = sp[1]
            if len(sp) > 2:
                sa, sb = sp[2], sp[3]
                dom = sp[4] if len(sp) > 4 else dom
        av = rng.uniform(*dom, size=sa).astype(np.float32)
        bv = rng.uniform(*dom, size=sb).astype(np.float32)
        yv = rng.integers(0, 4, size=4).astype(np.int32)
        a = torch.tensor(av, requires_grad=True)
        b = torch.tensor(bv, requires_grad=True)
        out = fn(a, b, torch.tensor(yv))
        rv = rng.uniform(-1, 1, size=tuple(out.shape) or (1,)).astype(np.float32)
        loss = (out.float() * torch.tensor(rv).reshape(out.shape if out.dim() else ())).sum() if out.dim() else out.float() * float(rv[0])
        if loss.requires_grad:
            loss.backward()
        ga = a.grad.numpy() if a.grad is not None else np.zeros_like(av)
        gb = b.grad.numpy() if b.grad is not None else np.zeros_like(bv)
        src = os.path.join(work, name + ".nnd")
        with open(src, "w") as f:
            f.write(program(expr, sa, sb, tuple(out.shape), ints))
        with open(os.path.join(work, "in.bin"), "wb") as f:
            f.write(av.tobytes() + bv.tobytes() + rv.tobytes() + yv.tobytes() + b"".join(v.tobytes() for v in ints.values()))
        res = subprocess.run([driver, src, os.path.join(work, "in.bin"), os.path.join(work, "out.bin")], capture_output=True, text=True)
        if res.returncode != 0:
            failed.append(f"{name}: the driver failed: {res.stderr.strip()}")
            continue
        o = np.fromfile(os.path.join(work, "out.bin"), dtype=np.float32)
        na, nb = av.size, bv.size
        got_a, got_b, got_out = o[1:1 + na], o[1 + na:1 + na + nb], o[1 + na + nb:]
        want_out = out.detach().float().numpy().reshape(-1)
        ok1, r1 = close(got_out, want_out, 1e-5, 1e-4)
        ok2, r2 = close(np.concatenate([got_a, got_b]), np.concatenate([ga.reshape(-1), gb.reshape(-1)]), 1e-4, 1e-3)
        worst_f, worst_b = max(worst_f, r1), max(worst_b, r2)
        if not ok1 or not ok2:
            failed.append(f"{name} ({expr}): forward {'ok' if ok1 else 'DIFFERS'} ({r1:.3g}), backward {'ok' if ok2 else 'DIFFERS'} ({r2:.3g})")
    print(f"ops_vs_torch: {len(CASES)} cases; worst relative error: forward {worst_f:.3g}, gradients {worst_b:.3g}")
    for m in failed:
        print("FAIL", m)
    return 1 if failed else 0

if __name__ == "__main__":
    sys.exit(main())
