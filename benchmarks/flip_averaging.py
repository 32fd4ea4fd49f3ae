"""Does averaging a generator's colours over the photo and its mirror image help? VALIDATION split.

Scores a saved generator (default: the newest `generator_gan` version) on the validation split
with the evaluation's own metrics, once as trained and once predicting ab as the mean of the
image's and its mirror's predictions (test-time augmentation), with the evaluation's cached
classifier.

    .venv/bin/python benchmarks/flip_averaging.py
    .venv/bin/python benchmarks/flip_averaging.py --model data/06_models/generator_gan.pt/<version>/generator_gan.pt
"""

import argparse
from pathlib import Path

import torch
from quality_sweep import CLASSIFIER, COLUMNS, load_split, score

import image_colourisation.pipelines.evaluation.nodes as evaluation
from image_colourisation.datasets.torch_models import ModelPayloadDataset


class MirrorAveraged(torch.nn.Module):
    """`generator`'s ab, averaged with its ab of the mirrored input mirrored back."""

    def __init__(self, generator: torch.nn.Module) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, lightness: torch.Tensor) -> torch.Tensor:
        mirrored = self.generator(lightness.flip(-1)).flip(-1)
        return (self.generator(lightness) + mirrored) / 2


def newest_gan() -> Path:
    versions = sorted(Path("data/06_models/generator_gan.pt").iterdir())
    return versions[-1] / "generator_gan.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a generator payload (default: newest GAN)")
    args = parser.parse_args()
    model = args.model or newest_gan()
    payload = torch.load(model, weights_only=True)
    validation = load_split("validation")
    classifier = ModelPayloadDataset(CLASSIFIER).load()

    build = evaluation.generator_from_payload
    print(f"{model}, validation split ({len(validation['L'])} images)")
    print(f"{'':>10}  " + "  ".join(f"{column:>18}" for column in COLUMNS))
    for name, wrap in [("as trained", None), ("mirror avg", MirrorAveraged)]:
        evaluation.generator_from_payload = (
            build if wrap is None else lambda payload, wrap=wrap: wrap(build(payload))
        )
        row = score(payload, validation, classifier)["gan"]
        print(f"{name:>10}  " + "  ".join(f"{row[column]:>18.3f}" for column in COLUMNS))
    evaluation.generator_from_payload = build


if __name__ == "__main__":
    main()
