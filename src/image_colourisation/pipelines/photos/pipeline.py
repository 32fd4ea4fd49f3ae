"""`kedro run --pipelines photos --params "photos.folder=/path/to/pictures"`.

The folder's own ingestion and preprocessing, then the project's training, evaluation and
colourisation pipelines themselves, namespaced `photos`: their datasets are `photos.<name>`
(`catalog_photos.yml`: models, reports and outputs beside CIFAR-10's, never over them) and
their training parameters `photos.training`. The evaluation and colourisation use the
generators this run trains; the colourisation renders at the crop size they learnt at.
"""

from kedro.pipeline import Node, Pipeline

from image_colourisation.pipelines.benchmark import create_pipeline as benchmark
from image_colourisation.pipelines.colourisation import create_pipeline as colourisation
from image_colourisation.pipelines.evaluation import create_pipeline as evaluation
from image_colourisation.pipelines.training import create_pipeline as training

from .ingestion import index_photos
from .preprocessing import test_set, training_crops, validation_set, working_size_images
from .to_colourise import photos_to_colourise

NAMESPACE = "photos"
# Evaluation and benchmark parameters shared with CIFAR-10 (figure size, the hints curve's counts
# and seed, the benchmark's hints, bootstrap and blotch thresholds);
# the batch size and the classifier's are the photos' own (`photos.evaluation_batch_size`,
# `photos.classifier`: smaller batches for the larger images).
SHARED_PARAMETERS = {
    "params:evaluation.ab_distribution_images",
    "params:evaluation.hints_curve",
    "params:benchmark",
    "params:benchmark.grid_photos",
    "params:colourisation.key_every",
}


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            folder_pipeline(),
            Pipeline(training(), namespace=NAMESPACE, inputs={"imagenet_weights"}),
            trained_model_pipelines(),
        ],
        tags=[NAMESPACE],
    )


def folder_pipeline() -> Pipeline:
    """Folder -> index and reports -> working-size cache -> training crops, held-out arrays."""
    crop = "params:crop_size"
    return Pipeline(
        [
            Node(
                index_photos,
                ["training_folder", crop, "params:validation_fraction", "params:test_fraction",
                 "params:seed"],
                ["index", "ingestion_report", "size_histogram"],
                name="index_photos",
            ),
            Node(
                working_size_images,
                ["index", "training_folder", crop, "params:working_scale"],
                "working_images",
                name="working_size_images",
            ),
            Node(
                training_crops,
                {"cache": "working_images", "index": "index", "crop_size": crop,
                 "crops_per_photo": "params:crops_per_photo", "flip": "params:flip",
                 "workers": "params:workers"},
                "train_set",
                name="training_crops",
            ),
            *(
                Node(
                    function,
                    ["working_images", "index", crop, "params:held_out_limit"],
                    function.__name__,
                    name=function.__name__,
                )
                for function in (validation_set, test_set)
            ),
        ],
        namespace=NAMESPACE,
    )  # fmt: skip


def trained_model_pipelines() -> Pipeline:
    """Evaluation, colourisation and the real-photo benchmark on this run's photo-trained
    generators. The classifier of semantic accuracy and FD learns the sub-folders from the
    validation photos (training photos exist only as crops on disk). The colourisation colours
    `photos.photos_to_colourise`: the held-out test photos, or the folder
    `--params photos.colourise_folder=DIR` names; the benchmark scores the same photos, with
    CIFAR-10's benchmark settings and ImageNet judge."""
    choice = Node(
        photos_to_colourise,
        ["named_folder_to_colourise", "index", "training_folder"],
        "photos_to_colourise",
        name="photos_to_colourise",
    )
    return Pipeline(
        Pipeline([choice]) + evaluation() + colourisation() + benchmark(),
        namespace=NAMESPACE,
        inputs={
            "evaluation_gan_generator": "photos.generator_gan",
            "evaluation_l1_generator": "photos.generator_l1",
            "colourisation_generator": "photos.generator_gan",
            "train_set": "photos.validation_set",
            "benchmark_photos": "photos.photos_to_colourise",
            "benchmark_gan_generator": "photos.generator_gan",
            "benchmark_l1_generator": "photos.generator_l1",
            "benchmark_imagenet_classifier": "benchmark_imagenet_classifier",
        },
        parameters={name: name for name in SHARED_PARAMETERS}
        | {
            "params:colourisation.render_size": "params:photos.crop_size",
            "params:evaluation.classifier": "params:photos.classifier",
            "params:evaluation.critic": "params:photos.critic",
            "params:evaluation.batch_size": "params:photos.evaluation_batch_size",
        },
    )
