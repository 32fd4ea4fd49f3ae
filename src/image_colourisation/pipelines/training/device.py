"""Where and how tensors live in training: the device and the memory layout (mixed precision:
`networks.autocast`)."""

import torch


def resolve_device(name: str) -> torch.device:
    """`auto` -> CUDA when present, else CPU; `cuda` without a GPU is an error, not a fallback."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            "training.device is 'cuda' but torch sees no CUDA device; use 'auto' or 'cpu'."
        )
    return torch.device(name)


def memory_format(channels_last: bool) -> torch.memory_format:
    """NHWC when `training.channels_last`: oneDNN's faster convolution layout on CPUs."""
    return torch.channels_last if channels_last else torch.contiguous_format
