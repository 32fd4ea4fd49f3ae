"""Errors the user made and can fix, told apart from the project's own bugs.

Raised where the problem is found, with a message that names it and says what to do (a missing
photo folder, too few photos, a model file that does not fit, an archive that is not CIFAR-10).
`kedro run` ends with that message alone (`hooks.UserErrorHook`); any other error keeps its
full traceback, and so do these with `IMAGE_COLOURISATION_TRACEBACK=1`.
"""

from kedro.io import DatasetError

TRACEBACK_SWITCH = "IMAGE_COLOURISATION_TRACEBACK"


class UserError(Exception):
    """A problem with what the user gave (a folder, a parameter, a file), not with the code."""


class UserValueError(UserError, ValueError):
    """A user error where a ValueError is expected (callers catching those still do)."""


class UserDatasetError(UserError, DatasetError):
    """A user error found while a dataset loads or saves (Kedro expects a DatasetError)."""


def user_error_in(error: BaseException | None) -> UserError | None:
    """The user error that `error` is, or was raised from (Kedro wraps a dataset's error in its
    own, and a node's in a runner's), or None. Only explicit causes (`raise ... from`) count:
    a bug in the code that handled a user error is a bug."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, UserError):
            return error
        seen.add(id(error))
        error = error.__cause__
    return None


class ModelFileError(UserValueError):
    """A model payload that does not describe a model this project can build and fill.

    The message is one sentence naming the source (file or URI) and the problem; `colourise`
    turns it into a usage error (exit 2), a pipeline stops with it.
    """


class TrackingLostError(UserError):
    """The MLflow tracking server stopped answering in the middle of a run.

    What was trained is in the checkpoint; the message names it and the command that resumes.
    `hooks.project.TrackingLostHook` ends the run at once: MLflow's own clean-up would wait on
    its retries against the same server for each open run.
    """
