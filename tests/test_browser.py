"""A real headless browser (Debian's chromium via Playwright) against the launched app.

Screenshots land in tests/artifacts/ for a human to look at.
"""
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]
ARTIFACTS = Path(__file__).parent / "artifacts"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.set_default_timeout(120_000)
        page.goto(app_url)  # Gradio keeps a connection open: wait for elements, never for network idle
        yield page
        browser.close()


def choose(page, label: str, option: str) -> None:
    page.get_by_label(label).first.click()
    page.get_by_role("option", name=option).click()


def start_a_tiny_run(page, budget_s: int) -> None:
    """The tiny model, the Train tab, full fine-tuning, a budget of `budget_s` seconds, Start.

    Full, not the default Auto: on a busy machine Auto may plan a linear probe for a short budget, and these
    tests are about the steps, the curves and the attention that fine-tuning moves.
    """
    choose(page, "Pretrained model", "Tiny BERT (random weights, tests)")
    page.get_by_role("tab", name="Train").click()
    page.locator("#method").get_by_text("Full fine-tune", exact=True).click()
    budget = page.locator("#budget input[type=number]")
    budget.fill(str(budget_s))
    budget.press("Enter")
    page.locator("#start-training").click()


def test_predict_with_enter_then_train_then_see_the_fine_tuned_attention(page, tiny_model):
    page.get_by_role("tab", name="Predict & attention").click()
    box = page.locator("#predict-text textarea, #predict-text input").first
    box.fill("A gorgeous, witty and moving film.")
    box.press("Enter")
    page.get_by_text("untrained head").first.wait_for()
    page.locator("#heatmap .js-plotly-plot").wait_for()
    page.screenshot(path=ARTIFACTS / "predict-untrained.png", full_page=True)

    start_a_tiny_run(page, 5)
    page.locator("#curves .js-plotly-plot .scatterlayer .trace").first.wait_for()  # the live loss curve drew
    page.get_by_text("held-out test examples").wait_for()
    page.screenshot(path=ARTIFACTS / "train-done.png", full_page=True)
    assert "after" in page.locator("#train-results").inner_text()
    page.locator("#timelapse-caption").get_by_text("step").first.wait_for()  # the time-lapse opened on its own

    page.get_by_role("tab", name="Predict & attention").click()
    page.get_by_role("button", name="Predict", exact=True).click()
    page.locator("#predict-note").get_by_text("Fine-tuned").wait_for()
    page.locator("#heatmap .js-plotly-plot").wait_for()
    page.screenshot(path=ARTIFACTS / "predict-fine-tuned.png", full_page=True)

    page.locator("#inside").get_by_text("What transfer changed inside the model").click()  # after the run
    page.locator("#inside-show").click()
    page.locator("#inside-space .js-plotly-plot").wait_for()
    page.locator("#inside-layers .js-plotly-plot").wait_for()
    assert "linear probe" in page.locator("#inside-space-note").inner_text()
    assert "CKA" in page.locator("#inside-layers-note").inner_text()
    page.locator("#inside-norm").click()
    page.locator("#inside-norm-head .js-plotly-plot").wait_for()
    page.locator("#inside").screenshot(path=ARTIFACTS / "inside-views.png")


def test_cross_domain_options_then_the_compare_tab(page, tiny_model):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Train").click()
    source = page.locator("#source-dataset")
    assert not source.is_visible()
    page.locator("#kind").get_by_text("Cross-domain").click()
    source.wait_for(state="visible")
    page.get_by_text("train on a source dataset").first.wait_for()  # the kind's one-line explanation
    page.locator("#plan").get_by_text("Expected time").wait_for()
    page.screenshot(path=ARTIFACTS / "train-cross-domain.png", full_page=True)
    page.locator("#kind").get_by_text("In-domain").click()

    page.get_by_role("tab", name="Compare").click()
    expect(page.locator("#runs-table")).to_contain_text("In-domain")  # the earlier run is listed
    page.screenshot(path=ARTIFACTS / "compare.png", full_page=True)


def test_learn_tab_draws_every_view(page, tiny_model):
    page.get_by_role("tab", name="Learn").click()
    page.locator("#learn-show").click()
    page.locator("#learn-steps .js-plotly-plot").wait_for()
    page.locator("#learn-residual .js-plotly-plot").wait_for()
    page.locator("#learn-steps-text").get_by_text("attends most to").wait_for()
    page.screenshot(path=ARTIFACTS / "learn.png", full_page=True)


def test_a_lesson_preset_fills_the_settings_and_runs(page, tiny_model):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="Train").click()
    choose(page, "Lesson presets", "Spam filter from 16 examples per class")
    expect(page.locator("#preset-note")).to_contain_text("16 ham and 16 spam")
    expect(page.get_by_label("Target dataset").first).to_have_value("SMS spam")
    budget = page.locator("#budget input[type=number]")
    budget.fill("5")  # the preset says 30 s; a test run needs only to finish
    budget.press("Enter")
    page.locator("#start-training").click()
    expect(page.locator("#train-results")).to_contain_text("SMS spam", timeout=180_000)
    page.screenshot(path=ARTIFACTS / "preset-spam.png", full_page=True)


def test_dark_theme_on_a_projector_sized_screen(page, app_url):
    dark = page.context.browser.new_page(viewport={"width": 1280, "height": 720})  # one Playwright per thread
    dark.goto(app_url + "?__theme=dark")
    dark.get_by_role("tab", name="Train").wait_for()
    assert "dark" in (dark.locator("body").get_attribute("class") or "")
    dark.screenshot(path=ARTIFACTS / "dark-720p.png")
    dark.close()


def test_a_reload_mid_run_brings_back_the_live_view_then_the_result(page, app_url, tiny_model):
    from playwright.sync_api import expect

    context = page.context.browser.new_context(viewport={"width": 1280, "height": 720})  # its own browser storage
    tab = context.new_page()
    tab.set_default_timeout(120_000)
    tab.goto(app_url)
    start_a_tiny_run(tab, 30)  # long enough to be still running after a reload on a loaded machine
    expect(tab.locator("#train-status")).to_contain_text("step", timeout=120_000)  # a cold worker: imports first
    tab.reload()
    tab.get_by_role("tab", name="Train").click()
    expect(tab.locator("#train-status")).to_contain_text("step", timeout=30_000)  # the run went on: this page follows
    tab.screenshot(path=ARTIFACTS / "train-after-reload.png", full_page=True)
    expect(tab.locator("#train-results")).to_contain_text("held-out test examples", timeout=120_000)
    context.close()
