"""The web page in headless Chromium (Debian's `chromium`, driven by playwright; no browser is downloaded):
type a text, see the class probabilities as bars; the model card shows metrics, confusion matrix and cost."""

from __future__ import annotations

import contextlib
import shutil
import socket
import threading
import time

import pytest

from lmforge.inference.predictor import Predictor
from lmforge.serving.app import create_app
from lmforge.serving.keys import KeyStore

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@contextlib.contextmanager
def serving(model_dir):
    """The app for ``model_dir`` under uvicorn in a thread, on a free loopback port."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(model_dir)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(600):
        if server.started and app.state.serving.ready:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(30)


@pytest.fixture
def live_server(model_dir):
    with serving(model_dir) as served:
        yield served


@pytest.fixture
def browser_page():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which("chromium") and not shutil.which(CHROMIUM):
        pytest.fail("chromium is not installed: `make test` installs it (apt-get install chromium)")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser.new_page()
        finally:
            browser.close()


def test_playground_shows_probability_bars_and_the_model_card(live_server, browser_page, model_dir):
    url, _ = live_server
    page = browser_page
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    assert page.text_content("#model-name") == "· model"
    assert page.is_hidden("#key-row")  # no keys: no key field
    metrics = page.text_content("#metrics")
    assert "accuracy" in metrics and "eval/test" in metrics
    cells = [int(c) for c in page.locator("#confusion-table td.cell").all_text_contents()]
    assert len(cells) == 4 and sum(cells) == 40
    assert "$" in page.text_content("#cost")

    page.fill("#text", "a great and lovely film")
    page.click("#classify")
    page.wait_for_selector("#result .bar-row", timeout=30_000)
    rows = page.locator("#result .bar-row")
    assert rows.count() == 2
    want = Predictor.load(model_dir).predict(["a great and lovely film"])[0]
    assert page.get_attribute("#result .bar-row.best", "data-label") == want.label
    shown = page.text_content("#result .bar-row.best .prob")
    assert shown == f"{100 * want.score:.1f}%"
    width = page.eval_on_selector("#result .bar-row.best .bar > span", "e => e.style.width")
    assert width == f"{100 * want.score:.1f}%"


def test_playground_highlights_the_entities_of_a_tagger(tmp_path, tiny_model, browser_page):
    import httpx

    import lmforge
    from tests.tasks.test_token_classification import toy_sentences, write_conll

    train = write_conll(tmp_path / "train.txt", toy_sentences(240, 0))
    dev = write_conll(tmp_path / "dev.txt", toy_sentences(60, 1), docstart=False)
    tagger = lmforge.finetune(train, tmp_path / "tagger", dev, task="token-classification", model=str(tiny_model),
                              epochs=8, batch_size=16, lr=5e-3, head_lr=5e-3, max_length=32,
                              freeze_embeddings=False, patience=0, quiet=True).output
    text = "the actor and a film"
    with serving(tagger) as (url, _):
        want = httpx.post(url + "/v1/tag", json={"texts": [text]}).json()["results"][0]["entities"]
        assert want, "the tagger finds entities in its own training pattern"
        page = browser_page
        page.goto(url + "/")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        assert page.text_content("#classify") == "Find entities" and page.is_hidden("#text-b-row")
        page.fill("#text", text)
        page.click("#classify")
        page.wait_for_selector("#result mark", timeout=30_000)
        marks = page.locator("#result mark")
        shown = [(marks.nth(i).get_attribute("data-type"), marks.nth(i).evaluate("m => m.firstChild.textContent"))
                 for i in range(marks.count())]
        assert shown == [(e["type"], e["text"]) for e in want]
        assert page.eval_on_selector("#result .tagged", "p => p.textContent.replace(/PER|OBJ/g, '')") == text


def test_playground_asks_for_a_key_once_keys_exist_and_shows_the_error(live_server, browser_page, model_dir):
    url, app = live_server
    key = KeyStore(model_dir).create("web")
    app.state.serving.keys._keys_exist_cache = (-1.0, False)  # skip the 1 s cache instead of sleeping
    page = browser_page
    page.goto(url + "/")
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    assert page.is_visible("#key-row")
    page.fill("#text", "boring plot")
    page.click("#classify")
    page.wait_for_selector("#error:not([hidden])", timeout=30_000)
    assert "API key" in page.text_content("#error")
    page.fill("#api-key", key)
    page.click("#classify")
    page.wait_for_selector("#result .bar-row", timeout=30_000)
    assert page.is_hidden("#error")


def test_chat_page_streams_the_reply(tmp_path, browser_page):
    """The chat page on a tiny generator: the reply arrives in several streamed pieces and equals the
    non-streamed answer."""
    import httpx
    import uvicorn

    from tests.generation.conftest import build_tiny_llama

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(build_tiny_llama(tmp_path / "llm"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        for _ in range(600):
            if server.started and app.state.serving.ready:
                break
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        page = browser_page
        page.goto(url + "/chat")
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)
        page.fill("#prompt", "hello")
        page.click("#send")
        page.wait_for_selector(".assistant[data-chunks]", timeout=30_000)
        page.wait_for_selector("body[data-streaming='0']", timeout=60_000)
        shown = page.inner_text(".assistant")
        want = httpx.post(url + "/v1/chat/completions", json={"messages": [{"role": "user", "content": "hello"}],
                                                              "max_tokens": 256, "temperature": 0}, timeout=60)
        assert shown.strip() == want.json()["choices"][0]["message"]["content"].strip()
        assert int(page.get_attribute(".assistant", "data-chunks")) > 1
    finally:
        server.should_exit = True
        thread.join(30)
