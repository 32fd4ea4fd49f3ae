"""photos + the chosen generator (the latest GAN by default) -> colourised photos, same names."""

from kedro.pipeline import Node, Pipeline

from image_colourisation.pipelines.colourisation.nodes import colourise_photos


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                colourise_photos,
                inputs=["photos", "colourisation_generator", "params:colourisation.render_size"],
                outputs="colourised_photos",
                name="colourise_photos",
            ),
        ],
        tags=["colourisation"],
    )
