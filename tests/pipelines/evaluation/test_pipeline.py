"""The evaluation pipeline's shape, alone and wired after training."""

from image_colourisation.pipeline_registry import after_training
from image_colourisation.pipelines import evaluation, training


def test_alone_it_reads_the_generators_through_the_choice_datasets() -> None:
    inputs = evaluation.create_pipeline().inputs()
    assert {"evaluation_gan_generator", "evaluation_l1_generator", "test_set"} <= inputs
    assert not inputs & {"generator_gan", "generator_l1"}


def test_after_training_it_runs_on_the_generators_that_training_outputs() -> None:
    combined = training.create_pipeline() + after_training(evaluation.create_pipeline())
    order = [node.name for node in combined.nodes]
    assert order.index("colourise_test_set") > max(
        order.index("train_gan"), order.index("train_l1_baseline")
    )
    assert not combined.inputs() & {"evaluation_gan_generator", "evaluation_l1_generator"}
