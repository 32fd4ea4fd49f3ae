"""The MLflow UI that the team's server serves, in a real browser: it asks for the login, and
shows the L1 baselines of two `kedro run`s, one of them on two processes, side by side."""

import json
from pathlib import Path

import pytest
from mlflow import MlflowClient
from playwright.sync_api import Browser, expect
from playwright.sync_api import Error as PlaywrightError

from tests.team.conftest import ADMIN, TeamServer


def test_the_team_ui_asks_for_the_login_and_compares_runs_from_two_processes(
    browser: Browser,
    artifacts: Path,
    team_server: TeamServer,
    two_process_run: str,
    client: MlflowClient,
) -> None:
    experiment = client.get_experiment_by_name("image-colourisation")
    (alone,) = client.search_runs(  # the team project's default run, on one process
        [experiment.experiment_id],
        "tags.mlflow.runName = 'l1' and params.`training.distributed.processes` = '1' and "
        "params.`training.checkpoint_dir` = 'data/06_models/checkpoints'",
    )
    compared = [alone.info.run_id, two_process_run]  # the L1 baselines of two `kedro run`s
    address = (
        f"{team_server.url}/#/compare-runs?runs={json.dumps(compared)}"
        f"&experiments={json.dumps([experiment.experiment_id])}"
    )

    stranger = browser.new_page()
    with pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS"):
        stranger.goto(team_server.url)  # no login, no UI (a person's browser asks for one)
    stranger.close()

    login = {"username": ADMIN, "password": team_server.password}
    context = browser.new_context(http_credentials=login, viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(address)
    expect(page.get_by_text("Comparing 2 Runs from 1 Experiment")).to_be_visible()
    for run_id in compared:
        expect(page.get_by_role("link", name=run_id).first).to_be_visible()
    close_assistant = page.get_by_role("button", name="Close")  # a side panel over the table
    if close_assistant.is_visible():
        close_assistant.click()
    page.get_by_text("Visualizations", exact=True).click()  # folded: the tables in view
    switches = page.get_by_role("switch")  # "Show diff only": parameters, metrics, tags
    expect(switches).to_have_count(3)
    for diff_only in switches.all()[:2]:
        diff_only.click()
    row = page.locator("tr").filter(has_text="training.distributed.processes")
    expect(row).to_have_count(1)
    assert row.locator("td").all_inner_texts()[-2:] == ["1", "2"]
    expect(page.locator("tr").filter(has_text="training.lr")).to_have_count(0)  # same: hidden
    page.screenshot(path=artifacts / "team-server-compare.png")
    context.close()
