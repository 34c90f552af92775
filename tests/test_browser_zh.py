"""The Chinese interface in a real headless browser: a page whose language is zh-CN (Playwright's locale sets
navigator.language and the Accept-Language header alike) sees Chinese, static and server-built text alike.

Screenshots land in tests/artifacts/zh-*.png for a human to look at.
"""
import pytest
from test_browser import ARTIFACTS, CHROMIUM, FLAGS, choose

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")]


@pytest.fixture(scope="module")
def page(app_url):
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 720})
        page = context.new_page()
        page.set_default_timeout(120_000)
        page.goto(app_url)  # Gradio keeps a connection open: wait for elements, never for network idle
        yield page
        browser.close()


def test_the_page_is_in_chinese(page):
    from playwright.sync_api import expect

    for name in ("数据", "训练", "对比", "预测与注意力", "学习"):
        page.get_by_role("tab", name=name, exact=True).wait_for()
    expect(page.locator(".kt-header").first).to_contain_text("用 Transformer 做迁移学习")
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    page.get_by_role("tab", name="训练", exact=True).click()
    expect(page.locator("#train-status")).to_contain_text("就绪。请点击开始训练。")
    expect(page.locator("#kind")).to_contain_text("跨领域")  # a run kind's translated name
    page.locator("#kind").get_by_text("零样本").click()
    expect(page.get_by_text("没有目标标签").first).to_be_visible()  # the kind's help, built by the server
    page.locator("#kind").get_by_text("领域内").click()
    expect(page.locator("#plan")).to_contain_text("预计用时")
    page.screenshot(path=ARTIFACTS / "zh-train.png", full_page=True)


def test_chinese_text_gets_the_multilingual_sentence(page, tiny_model):
    from playwright.sync_api import expect

    choose(page, "预训练模型", "Tiny BERT (random weights, tests)")
    page.get_by_role("tab", name="预测与注意力", exact=True).click()
    box = page.locator("#predict-text textarea, #predict-text input").first
    box.fill("这部电影真好看。")
    box.press("Enter")
    expect(page.locator("#predict-note")).to_contain_text("paraphrase-multilingual-MiniLM-L12-v2")
    expect(page.locator("#predict-note")).to_contain_text("多语言")
    page.locator("#heatmap .js-plotly-plot").wait_for()
    page.screenshot(path=ARTIFACTS / "zh-predict.png", full_page=True)


def test_a_lesson_preset_runs_and_reads_its_result_in_chinese(page, tiny_model):
    from playwright.sync_api import expect

    page.get_by_role("tab", name="训练", exact=True).click()
    choose(page, "课程预设", "每类 16 个样本的垃圾短信过滤器")
    expect(page.locator("#preset-note")).to_contain_text("16 条正常短信和 16 条垃圾短信")
    expect(page.get_by_label("目标数据集").first).to_have_value("SMS spam")
    choose(page, "预训练模型", "Tiny BERT (random weights, tests)")  # the preset keeps the model; make sure
    budget = page.locator("#budget input[type=number]")
    budget.fill("5")  # the preset says 30 s; a test run needs only to finish
    budget.press("Enter")
    page.locator("#start-training").click()
    expect(page.locator("#train-status")).to_contain_text("已用", timeout=120_000)  # the live line, in Chinese
    expect(page.locator("#train-results")).to_contain_text("留出测试样本上的结果", timeout=180_000)
    results = page.locator("#train-results").inner_text()
    assert "SMS spam" in results and "准确率" in results and "宏平均 F1" in results
    expect(page.locator("#train-status")).to_contain_text("完成")
    page.screenshot(path=ARTIFACTS / "zh-preset-spam.png", full_page=True)


def test_the_learn_tab_in_chinese(page, tiny_model):
    page.get_by_role("tab", name="学习", exact=True).click()
    page.locator("#learn-show").click()
    page.locator("#learn-steps .js-plotly-plot").wait_for()
    page.locator("#learn-steps-text").get_by_text("它最关注").wait_for()
    page.get_by_text("单个词元的缩放点积注意力").wait_for()
    page.screenshot(path=ARTIFACTS / "zh-learn.png", full_page=True)
