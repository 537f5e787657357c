"""The web page in headless Chromium, driven over the DevTools protocol.

Chromium is started with `--remote-debugging-pipe`: commands go in on its fd 3 and answers
come out on fd 4, as JSON messages ended by NUL bytes, so no WebSocket library is needed.
The test uploads an image on the page, asks for a watermark, waits for the result image,
checks its pixels and the statistics panel, checks that a bad upload is explained in plain
words, and saves screenshots under the target directory.

Needs `STYLEMARK_FAAS` (the server binary) and Debian's `chromium` (scripts/test-all
installs it).
"""

import base64
import io
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from PIL import Image

SERVER = os.environ.get("STYLEMARK_FAAS")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("STYLEMARK_ARTIFACTS", tempfile.gettempdir())) / "browser"

pytestmark = pytest.mark.skipif(
    not SERVER or not CHROMIUM,
    reason="needs STYLEMARK_FAAS and chromium (scripts/test-all provides both)",
)


class Server:
    """stylemark-faas on an ephemeral loopback port."""

    def __init__(self):
        env = dict(os.environ, PORT="0", HOST="127.0.0.1")
        self.process = subprocess.Popen(
            [SERVER], env=env, stdout=subprocess.PIPE, text=True
        )
        first = json.loads(self.process.stdout.readline())
        assert first["event"] == "listening", first
        self.url = f"http://127.0.0.1:{first['port']}/"

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=15)


class Browser:
    """Headless Chromium with one page, spoken to over the DevTools pipe."""

    def __init__(self, profile):
        commands_read, self.commands = os.pipe()
        self.answers, answers_write = os.pipe()

        def wire_pipes():
            os.dup2(commands_read, 3)
            os.dup2(answers_write, 4)

        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--no-first-run",
                "--remote-debugging-pipe",
                f"--user-data-dir={profile}",
                "--window-size=1200,1400",
                "about:blank",
            ],
            preexec_fn=wire_pipes,
            close_fds=False,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_read)
        os.close(answers_write)
        self.buffer = b""
        self.next_id = 0
        self.events = []
        self.session = None
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call(
            "Target.attachToTarget", targetId=target, flatten=True, session=False
        )["sessionId"]
        self.call("Page.enable")
        self.call("Runtime.enable")

    def _message(self, timeout):
        deadline = time.monotonic() + timeout
        while b"\0" not in self.buffer:
            if time.monotonic() > deadline:
                raise TimeoutError("Chromium did not answer")
            chunk = os.read(self.answers, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, session=True, timeout=60, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session and self.session:
            message["sessionId"] = self.session
        os.write(self.commands, json.dumps(message).encode() + b"\0")
        while True:
            answer = self._message(timeout)
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def evaluate(self, expression):
        result = self.call(
            "Runtime.evaluate",
            expression=expression,
            returnByValue=True,
            awaitPromise=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        raise TimeoutError(f"never true: {expression}")

    def open(self, url):
        self.call("Page.navigate", url=url)
        self.wait_for("document.readyState === 'complete'")

    def upload(self, selector, path):
        root = self.call("DOM.getDocument")["root"]["nodeId"]
        node = self.call("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.call("DOM.setFileInputFiles", nodeId=node, files=[str(path)])

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(data["data"]))
        return path

    def close(self):
        try:
            self.call("Browser.close", session=False, timeout=10)
        except (RuntimeError, TimeoutError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
        os.close(self.commands)
        os.close(self.answers)


@pytest.fixture
def page(tmp_path):
    server = Server()
    browser = Browser(tmp_path / "profile")
    try:
        browser.open(server.url)
        yield browser
    finally:
        browser.close()
        server.close()


def photo(path):
    """A 320x240 gradient with a few shapes, so a watermark visibly changes it."""
    image = Image.new("RGB", (320, 240))
    image.putdata([(x * 255 // 319, y * 255 // 239, 140) for y in range(240) for x in range(320)])
    image.save(path)
    return path


def test_upload_and_watermark_on_the_page(page, tmp_path):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert page.evaluate("document.getElementById('go').disabled") is True
    page.upload("#photo", photo(tmp_path / "photo.png"))
    page.wait_for("document.getElementById('preview').naturalWidth === 320")
    assert page.evaluate("document.getElementById('go').disabled") is False

    page.evaluate(
        "document.getElementById('wm-text').value = '© browser test';"
        "document.getElementById('wm-position').value = 'tile';"
        "document.getElementById('go').click(); true"
    )
    page.wait_for("!document.getElementById('result').hidden && document.getElementById('result').naturalWidth > 0")
    state = page.evaluate(
        """(() => {
            const result = document.getElementById('result');
            const preview = document.getElementById('preview');
            const canvas = document.createElement('canvas');
            canvas.width = 320; canvas.height = 240;
            const context = canvas.getContext('2d');
            context.drawImage(result, 0, 0);
            const after = context.getImageData(0, 0, 320, 240).data;
            context.drawImage(preview, 0, 0);
            const before = context.getImageData(0, 0, 320, 240).data;
            let changed = 0;
            for (let i = 0; i < after.length; i += 4) {
                if (Math.abs(after[i] - before[i]) + Math.abs(after[i + 1] - before[i + 1]) > 24) changed++;
            }
            return {
                width: result.naturalWidth, height: result.naturalHeight,
                changed: changed / (320 * 240),
                error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,
                download: document.getElementById('download').getAttribute('download'),
                downloadHidden: document.getElementById('download').hidden,
                figures: document.getElementById('figures').textContent,
                progressShown: getComputedStyle(document.getElementById('progress')).display !== 'none',
            };
        })()"""
    )
    assert state["error"] is None, state
    assert (state["width"], state["height"]) == (320, 240), state
    # A tiled watermark covers a good part of the image, not all of it.
    assert 0.01 < state["changed"] < 0.6, state
    assert state["download"] == "stylemark-watermark.png" and not state["downloadHidden"], state
    assert "completed" in state["figures"], state
    assert not state["progressShown"], "the progress indicator is gone once the result is in"

    page.wait_for("document.getElementById('stat-invocations').textContent === '1'")
    assert page.evaluate("document.getElementById('stat-success').textContent") == "100.0 %"

    shot = page.screenshot(ARTIFACTS / "watermark.png")
    with Image.open(io.BytesIO(shot.read_bytes())) as image:
        assert image.width >= 1000 and image.height >= 800
        grey_levels = sum(1 for count in image.convert("L").histogram() if count)
        assert grey_levels > 10, "not a blank page"


def test_a_bad_upload_is_explained_in_plain_words(page, tmp_path):
    not_an_image = tmp_path / "notes.png"
    not_an_image.write_text("these are notes, not a picture")
    page.upload("#photo", not_an_image)
    page.wait_for("!document.getElementById('go').disabled")
    page.evaluate("document.getElementById('go').click(); true")
    message = page.wait_for(
        "!document.getElementById('error').hidden && document.getElementById('error').textContent"
    )
    assert message.startswith("That file could not be read as an image."), message
    assert page.evaluate("document.getElementById('result').hidden") is True
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(ARTIFACTS / "error.png")


def test_paint_with_the_builtin_style_shows_progress(page, tmp_path):
    page.upload("#photo", photo(tmp_path / "photo.png"))
    page.wait_for("!document.getElementById('go').disabled")
    # Smaller than the page's quick setting, to keep the suite fast on two cores.
    page.evaluate(
        "(() => {"
        "  Object.assign(PAINT_SETTINGS.quick, {'max-size': '64'});"
        "  window.sentFields = [];"
        "  const send = window.fetch;"
        "  window.fetch = (url, options) => {"
        "    window.sentFields = [...options.body.entries()].filter(([, v]) => typeof v === 'string');"
        "    return send(url, options); };"
        "  document.getElementById('tab-paint').click();"
        "  const strength = document.getElementById('paint-strength');"
        "  strength.value = '0.5'; strength.dispatchEvent(new Event('input'));"
        "  document.getElementById('paint-keep-colors').checked = true;"
        "  document.getElementById('go').click(); return true; })()"
    )
    assert page.evaluate("document.getElementById('paint-strength-value').textContent") == "0.5"
    assert page.evaluate("document.getElementById('go').textContent") == "Paint it"
    assert page.evaluate("getComputedStyle(document.getElementById('progress')).display !== 'none'")
    page.wait_for("!document.getElementById('result').hidden && document.getElementById('result').naturalWidth > 0")
    state = page.evaluate(
        "({width: document.getElementById('result').naturalWidth,"
        " height: document.getElementById('result').naturalHeight,"
        " download: document.getElementById('download').getAttribute('download'),"
        " error: document.getElementById('error').hidden ? null : document.getElementById('error').textContent,"
        " progressShown: getComputedStyle(document.getElementById('progress')).display !== 'none'})"
    )
    assert state["error"] is None, state
    assert (state["width"], state["height"]) == (64, 48), state
    assert state["download"] == "stylemark-painting.jpg", state
    sent = dict(page.evaluate("window.sentFields"))
    assert sent["strength"] == "0.5" and sent["preserve-colors"] == "true", sent
    assert not state["progressShown"], state
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(ARTIFACTS / "paint.png")
