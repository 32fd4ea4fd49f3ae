"""photos + generator_gan (or `colourisation.model`) -> colourised photos, same names and sizes."""

from kedro.pipeline import Node, Pipeline

from image_colourisation.pipelines.colourisation.nodes import choose_generator, colourise_photos


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                choose_generator,
                inputs=["generator_gan", "params:colourisation.model"],
                outputs="colourisation_generator",
                name="choose_colourisation_generator",
            ),
            Node(
                colourise_photos,
                inputs=["photos", "colourisation_generator", "params:colourisation.render_size"],
                outputs="colourised_photos",
                name="colourise_photos",
            ),
        ],
        tags=["colourisation"],
    )
