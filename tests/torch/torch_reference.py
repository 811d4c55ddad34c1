"""The reference side of the PyTorch tests: seeded torchvision models whose batch-norm statistics matter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def reference(constructor, seed: int = 0) -> torch.nn.Module:
    """A torchvision model in eval mode with seeded random weights and random batch-norm statistics and
    affine parameters (torchvision starts them at 0/1, which would hide a mis-mapped mean or variance)."""
    torch.manual_seed(seed)
    model = constructor()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.5, 0.5)
                module.num_batches_tracked.fill_(7)
    return model.eval()


def from_batch(constructor, x: np.ndarray, seed: int = 0) -> torch.nn.Module:
    """A seeded model in eval mode whose batch-norm statistics are those of the batch ``x`` (a train-mode
    pass with momentum 1) and whose batch-norm scale and offset are random: two images then give clearly
    different outputs, where statistics drawn at random can saturate a deep network's activations."""
    torch.manual_seed(seed)
    model = constructor()
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for norm in norms:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
            norm.momentum = 1.0
        model.train()(torch.from_numpy(x))
    return model.eval()


def save_state_dict(model: torch.nn.Module, path: Path) -> Path:
    torch.save(model.state_dict(), path)
    return path


def save_safetensors(model: torch.nn.Module, path: Path) -> Path:
    """A .safetensors file written here with numpy, as the format describes it (8-byte little-endian header
    length, JSON header of dtype/shape/data_offsets, raw little-endian data)."""
    import json

    header, chunks, offset = {}, [], 0
    for name, tensor in model.state_dict().items():
        array = tensor.detach().numpy()
        dtype = {"float32": "F32", "int64": "I64"}[str(array.dtype)]
        data = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(len(text).to_bytes(8, "little") + text + b"".join(chunks))
    return path


def images(n: int, size: int, seed: int = 1) -> np.ndarray:
    """``n`` NCHW images (what torch takes); the Keras side gets their NHWC transpose."""
    return np.random.default_rng(seed).standard_normal((n, 3, size, size)).astype("float32")


def torch_logits(model: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.from_numpy(x)).numpy()


def keras_logits(model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model(np.transpose(x, (0, 2, 3, 1)), training=False))


def max_rel_error(ours: np.ndarray, ref: np.ndarray) -> float:
    """Largest absolute difference relative to the reference's largest magnitude."""
    return float(np.abs(ours - ref).max() / np.abs(ref).max())


def trainable(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
