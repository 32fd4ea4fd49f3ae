"""photos_to_colourise + the chosen generator (the champion, else the latest GAN) -> colourised photos, same
names; and the inference pipeline that kedro-mlflow logs as the registered model."""

from kedro.pipeline import Node, Pipeline

from image_colourisation.models.onnx_export import payload_onnx
from image_colourisation.pipelines.colourisation.nodes import (
    colourise_photos,
    colourise_request_photos,
    decode_request_photos,
    encode_colourised_photos,
    keep_served_generator,
)
from image_colourisation.serving.registry import SERVED_GENERATOR, SERVED_GENERATOR_ONNX

REQUESTS = "colourisation_requests"  # the served model's input: one row per photo


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                colourise_photos,
                inputs=[
                    "photos_to_colourise",
                    "colourisation_generator",
                    "params:colourisation.render_size",
                    "params:colourisation.key_every",
                ],
                outputs="colourised_photos",
                name="colourise_photos",
            ),
        ],
        tags=["colourisation"],
    )


def create_inference_pipeline() -> Pipeline:
    """Request table -> photos -> colourised with the served generator -> answer table.

    kedro-mlflow's `pipeline_ml_factory` logs it with the training run as a `KedroPipelineModel`,
    the model that `mlflow models serve` and `mlflow.pyfunc.load_model` run.
    """
    return Pipeline(
        [
            Node(
                decode_request_photos,
                inputs=[REQUESTS, "params:colourisation.render_size"],
                outputs="request_photos",
                name="decode_request_photos",
            ),
            Node(
                colourise_request_photos,
                inputs=[
                    "request_photos",
                    SERVED_GENERATOR,
                    SERVED_GENERATOR_ONNX,
                    "params:colourisation.runtime",
                ],
                outputs="colourised_request_photos",
                name="colourise_request_photos",
            ),
            Node(
                encode_colourised_photos,
                inputs="colourised_request_photos",
                outputs="colourisation_answers",
                name="encode_colourised_photos",
            ),
        ],
        tags=["inference"],
    )


def create_serving_pipeline() -> Pipeline:
    """After training: the GAN, and its ONNX export, to the unversioned files the registered
    model is packed from."""
    return Pipeline(
        [
            Node(
                keep_served_generator,
                inputs="generator_gan",
                outputs=SERVED_GENERATOR,
                name="keep_served_generator",
            ),
            Node(
                payload_onnx,
                inputs="generator_gan",
                outputs=SERVED_GENERATOR_ONNX,
                name="export_served_generator_onnx",
            ),
        ],
        tags=["training"],
    )
