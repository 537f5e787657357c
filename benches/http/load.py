"""Latency, throughput and memory of the HTTP function (stylemark-faas), over loopback.

    cargo build --release -p stylemark-faas
    python3 benches/http/load.py --server target/release/stylemark-faas [--requests 200] [--concurrency 8]

Starts the server on a free port, then for a generated photo at 256 and 1024 px:
sequential text watermarks (tiled, rotated; latency p50/p95 seen by the client and the
server's own duration from its log), then `--requests` of them from `--concurrency` client
threads (throughput, latency, statuses); then, at 1024 px, invisible-mark detection on an
unmarked and a marked textured image (sequential latency, client and server); then one
quick doodle, and the server's resident memory before and after. Python standard library
only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import struct
import subprocess
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor


def png(width: int, height: int) -> bytes:
    """A colourful gradient as an 8-bit RGB PNG."""
    rows = b"".join(
        b"\0" + bytes(v for x in range(width) for v in (x * 255 // width, y * 255 // height, (x ^ y) & 255))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def textured_png(size: int, seed: int = 7) -> bytes:
    """A gradient with noise: enough texture to hold an invisible mark."""
    import random

    noise = random.Random(seed)
    rows = b"".join(
        b"\0" + bytes(
            max(0, min(255, v + noise.randint(-40, 40)))
            for x in range(size)
            for v in (x * 255 // size, y * 255 // size, 128)
        )
        for y in range(size)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 6)) + chunk(b"IEND", b"")


def form(fields: dict[str, str], files: dict[str, bytes]) -> tuple[str, bytes]:
    boundary = "stylemark-bench-boundary"
    body = b""
    for name, value in fields.items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    for name, data in files.items():
        body += (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{name}.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return f"multipart/form-data; boundary={boundary}", body


class Server:
    def __init__(self, binary: str, env: dict[str, str]):
        self.process = subprocess.Popen(
            [binary], env={**os.environ, "PORT": "0", "HOST": "127.0.0.1", **env},
            stdout=subprocess.PIPE, text=True,
        )
        first = json.loads(self.process.stdout.readline())
        self.port = first["port"]
        self.durations: dict[str, float] = {}
        threading.Thread(target=self._read_logs, daemon=True).start()

    def _read_logs(self):
        for line in self.process.stdout:
            entry = json.loads(line)
            if "request_id" in entry:
                self.durations[entry["request_id"]] = entry["duration_ms"]

    def post(self, path: str, fields: dict[str, str], files: dict[str, bytes]) -> tuple[int, float, str, bytes]:
        content_type, body = form(fields, files)
        started = time.perf_counter()
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        connection.request("POST", path, body=body, headers={"Content-Type": content_type})
        response = connection.getresponse()
        data = response.read()
        elapsed = (time.perf_counter() - started) * 1000
        connection.close()
        return response.status, elapsed, response.getheader("X-Request-Id"), data

    def rss_mib(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self):
        self.process.terminate()
        self.process.wait(timeout=30)


def percentiles(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[max(0, int(round(0.95 * len(ordered))) - 1)]
    return f"p50 {statistics.median(ordered):7.1f} ms  p95 {p95:7.1f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", required=True, help="path of the stylemark-faas binary")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    server = Server(args.server, {"STYLEMARK_CONCURRENCY": str(args.concurrency)})
    print(f"server RSS at start: {server.rss_mib():.0f} MiB")
    watermark = {"text": "© stylemark", "position": "tile", "rotate": "-30"}
    for size in (256, 1024):
        image = png(size, size)
        server.post("/v1/watermark", watermark, {"image": image})  # warm-up
        client, inside = [], []
        for _ in range(30):
            status, ms, request_id, _ = server.post("/v1/watermark", watermark, {"image": image})
            assert status == 200, status
            client.append(ms)
            time.sleep(0.01)
            inside.append(server.durations.get(request_id, float("nan")))
        print(f"{size}px watermark, sequential: client {percentiles(client)}; server {percentiles(inside)}")

        statuses: dict[int, int] = {}
        latencies: list[float] = []
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            for status, ms, _, _ in pool.map(
                lambda _: server.post("/v1/watermark", watermark, {"image": image}), range(args.requests)
            ):
                statuses[status] = statuses.get(status, 0) + 1
                latencies.append(ms)
        wall = time.perf_counter() - started
        print(
            f"{size}px watermark, {args.requests} at concurrency {args.concurrency}: "
            f"{args.requests / wall:6.1f} req/s, {percentiles(latencies)}, statuses {statuses}, "
            f"RSS {server.rss_mib():.0f} MiB"
        )

    unmarked = textured_png(1024)
    status, _, _, marked = server.post("/v1/mark/embed", {"payload": "c0ffee", "key": "bench"}, {"image": unmarked})
    assert status == 200, (status, marked[:200])
    for name, image, expected in (("unmarked", unmarked, False), ("marked", marked, True)):
        client, inside = [], []
        for _ in range(30):
            status, ms, request_id, body = server.post("/v1/mark/detect", {"key": "bench"}, {"image": image})
            assert status == 200 and json.loads(body)["found"] == expected, (status, body)
            client.append(ms)
            time.sleep(0.01)
            inside.append(server.durations.get(request_id, float("nan")))
        print(f"1024px mark detect, {name}, sequential: client {percentiles(client)}; server {percentiles(inside)}")

    photo = png(320, 240)
    status, ms, request_id, _ = server.post(
        "/v1/doodle",
        {"style": "demo", "method": "optimize", "seed": "content", "max-size": "256", "phases": "2", "iterations": "40",
         "rematch-every": "5", "format": "jpeg"},
        {"content": photo},
    )
    print(f"doodle 256x192 (demo style, 2 phases x 40, rematch 5): status {status}, {ms / 1000:.2f} s, "
          f"RSS {server.rss_mib():.0f} MiB")
    server.close()


if __name__ == "__main__":
    main()
