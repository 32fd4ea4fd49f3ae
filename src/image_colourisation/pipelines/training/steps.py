"""The networks of one training run and one optimisation step over a batch.

`gan_step` is the whole recipe in one place: D learns real from fake (when there is a D), then
G minimises its weighted losses (`losses.py`) and, when asked, updates its moving average.
With `adversarial_weight == 0` no discriminator exists and the step is the L1 baseline's.
"""

import copy
from dataclasses import dataclass

import torch
from torch import nn

from image_colourisation.models.hint_sampling import sample_hints
from image_colourisation.models.networks import Discriminator, Generator, autocast

from . import losses
from .colour_bins import ColourBinGrid, bins_loss
from .config import TrainingParams
from .device import memory_format


@dataclass
class Models:
    """What a checkpoint restores: the networks, their optimisers (no D for the baseline), the
    generator's moving average (when `ema_decay` > 0) and the colour bins (when `colour_bins`)."""

    generator: Generator
    g_optimizer: torch.optim.Optimizer
    discriminator: Discriminator | None
    d_optimizer: torch.optim.Optimizer | None
    ema: Generator | None = None
    bins: ColourBinGrid | None = None

    @property
    def final_generator(self) -> Generator:
        """The generator to keep: the moving average when there is one."""
        return self.ema if self.ema is not None else self.generator


def build_models(
    params: TrainingParams,
    device: torch.device,
    bins: ColourBinGrid | None = None,
    classes: int = 0,
) -> Models:
    """Fresh, seeded networks and Adam optimisers, in the memory layout the params ask for.

    `bins` (needed when `params.colour_bins`) gives the generator's output its ab cells;
    `classes`, the training images' number of classes (0: unlabelled), gives G its class head
    when `params.class_weight` > 0 and makes D a projection discriminator when
    `params.class_conditional`.
    """
    if params.colour_bins and bins is None:
        raise ValueError("training.colour_bins needs the training set's colour bins")
    torch.manual_seed(params.seed)
    layout = memory_format(params.channels_last)
    generator = Generator(
        params.width,
        params.depth,
        params.dropout,
        bins=len(bins.centres) if params.colour_bins and bins else 0,
        temperature=params.temperature,
        hints=params.hints.enabled,
        classes=classes if params.class_weight > 0 else 0,
        attention=params.attention,
        residual_blocks=params.residual_blocks,
        imagenet_encoder=params.imagenet_encoder,
        confidence=params.confidence,
    )
    if params.colour_bins and bins is not None:
        generator.head.centres.copy_(bins.centres)
    generator = generator.to(device, memory_format=layout)
    discriminator = None
    if params.adversarial_weight > 0:
        discriminator = Discriminator(
            params.discriminator_width,
            params.discriminator_layers,
            classes=classes if params.class_conditional else 0,
        )
        discriminator = discriminator.to(device, memory_format=layout)
    return Models(
        generator=generator,
        g_optimizer=_adam(generator, params.lr, (params.beta1, params.beta2)),
        discriminator=discriminator,
        d_optimizer=(
            _adam(discriminator, params.lr, (params.beta1, params.beta2)) if discriminator else None
        ),
        ema=copy.deepcopy(generator).requires_grad_(False) if params.ema_decay > 0 else None,
        bins=bins.to(device) if params.colour_bins and bins else None,
    )


def warm_start(models: Models, payload_state: dict[str, torch.Tensor]) -> list[str]:
    """Start G from another generator's weights (DeOldify's "NoGAN": the L1 baseline's).

    Every weight whose name and shape match is copied; a different output head (colour bins
    instead of ab) starts fresh. Returns the names left at their initial values.
    """
    own = models.generator.state_dict()
    matching = {
        name: value
        for name, value in payload_state.items()
        if name in own and own[name].shape == value.shape
    }
    models.generator.load_state_dict(matching, strict=False)
    if models.ema is not None:
        models.ema.load_state_dict(models.generator.state_dict())
    return sorted(set(own) - set(matching))


def _adam(module: nn.Module, lr: float, betas: tuple[float, float]) -> torch.optim.Adam:
    # fused Adam: one kernel for all parameters instead of a loop over them.
    return torch.optim.Adam(module.parameters(), lr=lr, betas=betas, fused=True)


def gan_step(
    models: Models,
    lightness: torch.Tensor,
    ab: torch.Tensor,
    params: TrainingParams,
    labels: torch.Tensor | None = None,
    *,
    context: torch.Tensor | None = None,
) -> dict[str, torch.Tensor]:
    """One optimisation step of D (if any) then G; returns detached losses and D outputs.

    With `params.hints.enabled` G sees colour hints drawn from the batch's true colours
    (`hint_sampling.sample_hints`, from torch's global generator: seeded, checkpointed, distinct per
    DDP rank); D judges L and ab alone, as without hints. `labels` (the images' classes) feed
    the class head's loss and a projection D, when the models have them; `context`, the
    ImageNet encoder's features of the batch when computed beforehand. A generator with an error
    head learns each pixel's ab error of its own (detached) colours beside them.
    """
    generator, discriminator = models.generator, models.discriminator
    # Inputs in the models' layout: mixing NCHW inputs with NHWC weights is ~10x slower.
    layout = memory_format(params.channels_last)
    lightness = lightness.contiguous(memory_format=layout)
    ab = ab.contiguous(memory_format=layout)
    hints = None
    if params.hints.enabled:
        hints = sample_hints(ab, params.hints, torch.default_generator)
        hints = hints.contiguous(memory_format=layout)
    with autocast(lightness.device):
        fake, bin_logits, class_logits, error = generator.predict(lightness, hints, context)
    figures: dict[str, torch.Tensor] = {}
    g_loss = fake.new_zeros(())
    if discriminator is not None and models.d_optimizer is not None:
        g_loss = _adversarial_step(
            models, lightness, ab, fake, labels=labels, params=params, figures=figures
        )
    g_l1 = losses.l1(fake, ab)
    g_loss = g_loss + params.l1_weight * g_l1
    if class_logits is not None and labels is not None:
        g_class = torch.nn.functional.cross_entropy(class_logits.float(), labels)
        g_loss = g_loss + params.class_weight * g_class
        figures["g_class_loss"] = g_class.detach()
    if bin_logits is not None and models.bins is not None:
        g_bins = bins_loss(bin_logits, ab, models.bins)
        g_loss = g_loss + params.bins_weight * g_bins
        figures["g_bins_loss"] = g_bins.detach()
    if error is not None:
        g_error = losses.l1(error, (ab - fake.detach()).float().norm(dim=1, keepdim=True))
        g_loss = g_loss + g_error
        figures["g_error_loss"] = g_error.detach()
    models.g_optimizer.zero_grad(set_to_none=True)
    g_loss.backward()
    models.g_optimizer.step()
    if models.ema is not None:
        update_ema(models.ema, generator, params.ema_decay)
    figures["g_l1_loss"] = g_l1.detach()
    return figures


def _adversarial_step(
    models: Models,
    lightness: torch.Tensor,
    ab: torch.Tensor,
    fake: torch.Tensor,
    *,
    labels: torch.Tensor | None,
    params: TrainingParams,
    figures: dict[str, torch.Tensor],
) -> torch.Tensor:
    """D's step on real against fake, then G's adversarial (and feature-matching) loss through
    the updated D; D's figures go into `figures`."""
    discriminator, d_optimizer = models.discriminator, models.d_optimizer
    discriminator.requires_grad_(True)
    with autocast(lightness.device):
        real_features = discriminator.features(lightness, ab, labels)
        real_logits = real_features[-1]
        fake_logits = discriminator(lightness, fake.detach(), labels)
        d_loss = losses.discriminator_loss(real_logits, fake_logits, params.real_label)
    d_optimizer.zero_grad(set_to_none=True)
    d_loss.backward()
    d_optimizer.step()
    # G's step needs gradients through D, not for D's weights: skip computing those.
    discriminator.requires_grad_(False)
    with autocast(lightness.device):
        fake_features = discriminator.features(lightness, fake, labels)
        g_adversarial = losses.bce(fake_features[-1], 1.0)
    g_loss = params.adversarial_weight * g_adversarial
    if params.feature_matching_weight > 0:
        real_features = [feature.detach() for feature in real_features]
        g_matching = losses.feature_matching(fake_features, real_features)
        g_loss = g_loss + params.feature_matching_weight * g_matching
        figures["g_fm_loss"] = g_matching.detach()
    figures["d_loss"] = d_loss.detach()
    figures["d_real"] = torch.sigmoid(real_logits.detach().float()).mean()
    figures["d_fake"] = torch.sigmoid(fake_logits.detach().float()).mean()
    figures["g_adv_loss"] = g_adversarial.detach()
    return g_loss


@torch.no_grad()
def update_ema(average: nn.Module, model: nn.Module, decay: float) -> None:
    """Parameters: exponential moving average. BatchNorm statistics: copied, not averaged
    (averaged running statistics do not match averaged weights and destabilise the output)."""
    torch._foreach_lerp_(list(average.parameters()), list(model.parameters()), 1.0 - decay)
    for kept, current in zip(average.buffers(), model.buffers(), strict=True):
        kept.copy_(current)
