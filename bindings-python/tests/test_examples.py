"""The examples in examples/python run as written."""

from __future__ import annotations

import base64
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import stylemark
from stylemark import samples

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"


@pytest.fixture(scope="module")
def handler(monkeypatch_module):
    monkeypatch_module.setenv("STYLEMARK_MAX_PIXELS", "400000")
    monkeypatch_module.setenv("STYLEMARK_TIMEOUT_S", "5")
    spec = importlib.util.spec_from_file_location("handler_example", EXAMPLES / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def event(image: bytes, **params: str) -> dict:
    return {"body": base64.b64encode(image).decode(), "isBase64Encoded": True, "queryStringParameters": params}


def image_of(response: dict) -> np.ndarray:
    assert response["statusCode"] == 200, response.get("body")
    return stylemark.load(base64.b64decode(response["body"]))


def test_handler_watermarks(handler):
    photo = samples.photo(400, 300, 4)
    response = handler(event(stylemark.encode(photo), op="watermark", text="(c) test", opacity="0.8", size="24"))
    assert response["headers"]["Content-Type"] == "image/png"
    assert response["headers"]["X-Stylemark-Status"] == "applied"
    out = image_of(response)
    assert out.shape == photo.shape and np.any(out != photo)


def test_handler_marks_invisibly(handler):
    photo = samples.photo(400, 300, 4)
    response = handler(event(stylemark.encode(photo, "jpeg", 92), op="mark", payload="0a0b", key="k", format="jpeg"))
    assert response["headers"]["Content-Type"] == "image/jpeg"
    found = stylemark.detect_mark(base64.b64decode(response["body"]), "k")
    assert found.found and found.payload == b"\x0a\x0b"


def test_handler_paints(handler):
    photo = samples.photo(64, 48, 4)
    response = handler(event(stylemark.encode(photo), op="doodle"))
    assert response["headers"]["X-Stylemark-Status"] == "completed"
    assert image_of(response).shape == photo.shape
    slow = handler(event(stylemark.encode(photo), op="doodle", method="optimize", iterations="2", phases="1"))
    assert slow["headers"]["X-Stylemark-Status"] == "completed"
    assert not np.array_equal(image_of(slow), image_of(response)), "the method reaches the engine"


def test_handler_errors_are_json_with_the_right_status(handler):
    bad = handler(event(b"not an image", op="watermark"))
    assert bad["statusCode"] == 422 and json.loads(bad["body"])["kind"] == "invalid_image"
    big = handler(event(stylemark.encode(samples.photo(800, 600, 1)), op="watermark"))
    assert big["statusCode"] == 413 and "max_pixels" in json.loads(big["body"])["error"]
    unknown = handler(event(b"x", op="sharpen"))
    assert unknown["statusCode"] == 400
    no_key = handler(event(stylemark.encode(samples.photo(300, 300, 1)), op="mark"))
    assert no_key["statusCode"] == 422 and "key" in json.loads(no_key["body"])["error"]


def test_handler_and_pil_scripts_run(tmp_path):
    for script, output in (("handler.py", "handler-output.png"), ("pil_example.py", "pil-example.jpg")):
        completed = subprocess.run([sys.executable, EXAMPLES / script], cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert completed.returncode == 0, completed.stderr
        assert (tmp_path / output).stat().st_size > 1000
    assert "mark found=True" in completed.stdout


def readme_python_blocks(path: Path) -> list:
    text = path.read_text()
    blocks = text.split("```python\n")[1:]
    return [block.split("```")[0] for block in blocks]


@pytest.mark.parametrize("readme", ["README.md", "bindings-python/README.md"])
def test_readme_examples_run_as_written(readme, tmp_path, monkeypatch):
    path = Path(__file__).resolve().parents[2] / readme
    blocks = [b for b in readme_python_blocks(path) if "vgg19" not in b]  # those need a weights file
    assert blocks, f"no runnable Python example in {readme}"
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, str(path), "exec"), {})
    assert stylemark.detect_mark(tmp_path / "marked.jpg", key="my secret").payload == b"\x20\x26"
    assert stylemark.load(tmp_path / "painting.png").shape == (96, 128, 3)
