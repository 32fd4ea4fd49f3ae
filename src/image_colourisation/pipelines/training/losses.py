"""The training losses: small functions that `steps.gan_step` weighs and adds (the colour-bins
cross-entropy lives with its bins in `colour_bins.py`)."""

import torch
from torch.nn import functional as F


def bce(logits: torch.Tensor, target: float) -> torch.Tensor:
    """Binary cross-entropy of D's logits against one target value for every patch."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def discriminator_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float
) -> torch.Tensor:
    """D's loss: real pairs towards `real_label` (one-sided smoothing), fakes towards 0."""
    return 0.5 * (bce(real_logits, real_label) + bce(fake_logits, 0.0))


def l1(fake: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """Mean absolute error on normalised ab: the median-seeking pixel loss of pix2pix."""
    return F.l1_loss(fake.float(), ab)


def feature_matching(
    fake_features: list[torch.Tensor], real_features: list[torch.Tensor]
) -> torch.Tensor:
    """Mean L1 between D's hidden features of the fake and the true pair (pix2pixHD): G is
    pulled towards colours whose statistics D sees in the truth of the same image, a steadier
    signal than D's verdict alone. The logits (last entry) are left to the adversarial term."""
    pairs = list(zip(fake_features[:-1], real_features[:-1], strict=True))
    return sum(F.l1_loss(fake.float(), real.float()) for fake, real in pairs) / len(pairs)
