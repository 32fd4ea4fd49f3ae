"""How MLflow runs are named: training names its runs so, and the evaluation finds them so."""

CIFAR10 = "cifar10"  # the training data whose runs keep the bare variant names


def run_name(variant: str, data: str = CIFAR10) -> str:
    """The MLflow run name of `variant` trained on `data`: `gan` for CIFAR-10, `photos-gan`
    for a photo folder, so the runs of the two sources read apart in MLflow. Lookups go by
    the `variant` and `data` tags, never by this name."""
    return variant if data == CIFAR10 else f"{data}-{variant}"
