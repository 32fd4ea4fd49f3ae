"""After every node, the memory it freed goes back to the system (`core/memory.py` says why)."""

from kedro.framework.hooks import hook_impl

from image_colourisation.core.memory import release_free_memory


class ReleaseMemoryHook:
    """After every node, the memory it freed goes back to the system."""

    @hook_impl
    def after_node_run(self) -> None:
        release_free_memory()
