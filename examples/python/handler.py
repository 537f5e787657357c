"""A serverless image function: watermark or paint an uploaded image.

The shape AWS Lambda (behind API Gateway or a function URL) and similar platforms call:
``handler(event, context)`` with the upload as a base64 body and the options as query
parameters; it returns a response dict with the result as a base64 body.

    POST ?op=watermark&text=(c)%20Ada&opacity=0.5&position=south-east
    POST ?op=mark&payload=c0ffee&key=secret          (invisible mark)
    POST ?op=doodle                                   (paint it in the demo style)
    POST ?op=doodle&method=optimize&iterations=30     (the slower reference algorithm)

The engine is created once per container, when the module loads, so warm invocations
reuse it. Settings from the environment: STYLEMARK_DEVICE (cpu), STYLEMARK_MAX_PIXELS,
STYLEMARK_TIMEOUT_S (time budget of a doodle, default 20 s).
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Dict

import stylemark
from stylemark import samples

ENGINE = stylemark.Engine(
    device=os.environ.get("STYLEMARK_DEVICE", "cpu"),
    max_pixels=int(os.environ.get("STYLEMARK_MAX_PIXELS", "25000000")),
)
TIME_BUDGET_S = float(os.environ.get("STYLEMARK_TIMEOUT_S", "20"))
DOODLE_MAX_SIDE = 256


def handler(event: Dict[str, Any], context: Any = None) -> Dict[str, Any]:
    """Entry point: returns the processed image (PNG or JPEG), or a JSON error."""
    params = event.get("queryStringParameters") or {}
    try:
        upload = _body(event)
        op = params.get("op", "watermark")
        if op == "watermark":
            image, headers = _watermark(upload, params)
        elif op == "mark":
            image, headers = _mark(upload, params)
        elif op == "doodle":
            image, headers = _doodle(upload, params)
        else:
            return _error(400, "invalid_options", f"unknown op `{op}`: use watermark, mark or doodle")
        fmt = "jpeg" if params.get("format") == "jpeg" else "png"
        data = stylemark.encode(image, fmt, quality=90 if fmt == "jpeg" else None)
        return {
            "statusCode": 200,
            "headers": {"Content-Type": f"image/{fmt}", **headers},
            "body": base64.b64encode(data).decode("ascii"),
            "isBase64Encoded": True,
        }
    except stylemark.LimitExceededError as e:
        return _error(413, e.kind, str(e))
    except stylemark.StylemarkError as e:
        status = 500 if e.kind in ("internal", "device", "weights", "io") else 422
        return _error(status, e.kind, str(e))


def _body(event: Dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body)
    return body.encode("latin-1") if isinstance(body, str) else bytes(body)


def _watermark(upload: bytes, params: Dict[str, str]):
    options: Dict[str, Any] = {"placement": {"position": params.get("position", "south-east")}}
    if "opacity" in params:
        options["opacity"] = float(params["opacity"])
    if "size" in params:
        size = params["size"]
        options["size"] = int(size) if size.isdigit() else size
    result = ENGINE.watermark_text(upload, params.get("text", "stylemark"), report=True, **options)
    return result.image, {"X-Stylemark-Status": result.status}


def _mark(upload: bytes, params: Dict[str, str]):
    if "key" not in params:
        raise stylemark.InvalidOptionsError("give the mark's secret as `key`", "invalid_options")
    payload = bytes.fromhex(params.get("payload", "01"))
    result = ENGINE.embed_mark(upload, payload, params["key"], report=True)
    return result.image, {"X-Stylemark-PSNR": f"{result.report['psnr_db']:.1f}"}


def _doodle(upload: bytes, params: Dict[str, str]):
    content = ENGINE.load(upload)
    scene = samples.demo_scene(192, 144, seed=1)
    method = params.get("method", "patch")
    optimiser = {} if method == "patch" else dict(
        iterations=int(params.get("iterations", "30")),
        phases=int(params.get("phases", "2")),
        rematch_every=5,
    )
    result = ENGINE.doodle(
        scene["style"],
        content,
        report=True,
        method=method,
        max_size=DOODLE_MAX_SIDE,
        random_seed=int(params.get("seed", "1")),
        time_budget=TIME_BUDGET_S,
        **optimiser,
    )
    return result.image, {"X-Stylemark-Status": result.status}


def _error(status: int, kind: str, message: str) -> Dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"error": message, "kind": kind}),
    }


if __name__ == "__main__":
    # A synthetic invocation: watermark a generated photo and write the response's image.
    photo = stylemark.encode(samples.photo(640, 480, seed=3), "jpeg", quality=90)
    event = {
        "body": base64.b64encode(photo).decode("ascii"),
        "isBase64Encoded": True,
        "queryStringParameters": {"op": "watermark", "text": "(c) Ada", "opacity": "0.5"},
    }
    response = handler(event)
    with open("handler-output.png", "wb") as out:
        out.write(base64.b64decode(response["body"]))
    print(response["statusCode"], response["headers"], "-> handler-output.png")
