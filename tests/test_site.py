"""The built website, checked the way a reader meets it: in a real browser (headless Chromium).

Runs after the book build in `make test` (marker `site`; the unit stage deselects it). Every HTML
page of `_build/html` is served on 127.0.0.1 and opened; the test fails on JavaScript errors,
broken internal links or images, math left unrendered, and chapters without launch buttons. A PNG
screenshot of each page is saved under `_build/screenshots/`.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

pytestmark = pytest.mark.site

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "screenshots"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def pages() -> list[str]:
    if not HTML.is_dir():
        return []
    return sorted(str(p.relative_to(HTML)) for p in HTML.rglob("*.html")
                  if not p.relative_to(HTML).parts[0].startswith(("_static", "_sources", "_images")))


class _Ids(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("id", "name") and v:
                self.ids.add(v)


@functools.lru_cache(maxsize=None)
def ids_of(path: Path) -> frozenset[str]:
    p = _Ids()
    p.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(p.ids)


@pytest.fixture(scope="module")
def server():
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    handler.log_message = lambda *a, **k: None
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    for exe in (CHROMIUM, DRIVER):
        assert Path(exe).exists(), f"{exe} missing: apt-get install chromium chromium-driver (tools/apt-test.txt)"
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--window-size=1280,1600", "--lang=en-US"):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module", autouse=True)
def fresh_screenshots():
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)


def test_site_has_pages():
    assert (HTML / "index.html").is_file(), "build the book first (make build-book)"
    assert len(pages()) >= 5


VISIBLE_TEXT_JS = """
const clone = document.querySelector('main') ? document.querySelector('main').cloneNode(true) : document.body.cloneNode(true);
clone.querySelectorAll('pre, code, script, style, mjx-container, .highlight, .cell_input, textarea').forEach(e => e.remove());
return clone.textContent;
"""

WAIT_MATHJAX_JS = """
const done = arguments[arguments.length - 1];
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
  MathJax.startup.promise.then(() => done(true)).catch(e => done('MathJax error: ' + e));
} else { done(document.querySelector('.math') ? 'MathJax not loaded' : true); }
"""

LINKS_JS = """
return [Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
        Array.from(document.querySelectorAll('img')).map(i => [i.src, i.complete && i.naturalWidth > 0, i.alt || ''])];
"""


@pytest.mark.parametrize("page", pages())
def test_page_in_real_browser(page, server, browser):
    url = urljoin(server, page)
    browser.get(url)
    problems: list[str] = []

    mj = browser.execute_async_script(WAIT_MATHJAX_JS)
    if mj is not True:
        problems.append(str(mj))
    n_math = browser.execute_script("return document.querySelectorAll('.math').length")
    n_rendered = browser.execute_script("return document.querySelectorAll('mjx-container').length")
    if n_math and n_rendered < n_math:
        problems.append(f"math: {n_math} expressions but only {n_rendered} rendered by MathJax")
    text = browser.execute_script(VISIBLE_TEXT_JS)
    for raw in ("$$", "\\begin{", "\\(", "\\["):
        if raw in text:
            i = text.index(raw)
            problems.append(f"unrendered math {raw!r} in visible text: ...{text[max(0, i - 40):i + 40]!r}")

    links, images = browser.execute_script(LINKS_JS)
    for href in links:
        if not href.startswith(server):
            continue  # external links are not fetched (no network here)
        parts = urlsplit(href)
        target = HTML / unquote(parts.path.removeprefix(urlsplit(server).path))
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            problems.append(f"broken link: {href}")
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids_of(target):
            problems.append(f"broken anchor: {href}")
    for src, loaded, alt in images:
        if src.startswith(server) and not loaded:
            problems.append(f"image not loaded: {src}")
        if src.startswith(server) and "/_images/" in src and not alt.strip():
            problems.append(f"figure without alt text: {src}")

    for entry in browser.get_log("browser"):
        if entry["level"] == "SEVERE":
            problems.append(f"console error: {entry['message'][:300]}")

    if page.startswith("notebooks/"):
        hrefs = " ".join(links)
        for service in ("mybinder.org", "colab.research.google.com"):
            if service not in hrefs:
                problems.append(f"no {service} launch button")

    browser.save_screenshot(str(SHOTS / (re.sub(r"[/\\]", "__", page).removesuffix(".html") + ".png")))
    assert not problems, f"{page}:\n  " + "\n  ".join(problems)
