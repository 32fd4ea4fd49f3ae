"""Where and how tensors live in training: the device, its mixed precision, the memory layout."""

from contextlib import AbstractContextManager

import torch

from .config import TrainingParams


def resolve_device(name: str) -> torch.device:
    """`auto` -> CUDA when present, else CPU; `cuda` without a GPU is an error, not a fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "training.device is 'cuda' but torch sees no CUDA device; use 'auto' or 'cpu'."
        )
    return torch.device(name)


def autocast(device: torch.device) -> AbstractContextManager:
    """bf16 mixed precision on CUDA (no loss scaling needed); a no-op on the CPU."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")


def memory_format(params: TrainingParams) -> torch.memory_format:
    """NHWC when `params.channels_last`: oneDNN's faster convolution layout on CPUs."""
    return torch.channels_last if params.channels_last else torch.contiguous_format
