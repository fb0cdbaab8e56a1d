"""Stream soak: a live MJPEG-over-HTTP camera (local server) through VideoStream for N minutes.

Reports resident memory (RSS) over time, frames processed and dropped, and the reader's queue
depth (bounded at one frame for a live source), as Markdown and ``--json``. The camera sends
640×480 JPEGs at 30 fps; the model is ``--model`` (default: EfficientNet-Lite0 ImageNet
classification of the centre, the course's live demo) with ``--roi center:0.5``.
"""

from __future__ import annotations

import argparse
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def camera(fps: float) -> ThreadingHTTPServer:
    frames = []
    rng = np.random.default_rng(0)
    for index in range(60):
        array = np.full((480, 640, 3), 40, np.uint8)
        array[100:300, 10 * index : 10 * index + 120] = rng.integers(0, 255, 3)
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, format="JPEG", quality=85)
        frames.append(buffer.getvalue())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            index = 0
            try:
                while True:
                    data = frames[index % len(frames)]
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\n")
                    self.wfile.write(
                        f"Content-Length: {len(data)}\r\n\r\n".encode() + data + b"\r\n"
                    )
                    index += 1
                    time.sleep(1 / fps)
            except (BrokenPipeError, ConnectionResetError):
                pass

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--model", default="efficientnet_lite0")
    parser.add_argument("--random-init", action="store_true")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from visiona.engine.predict.predictor import Predictor
    from visiona.engine.predict.video import VideoStream

    server = camera(30.0)
    url = f"http://127.0.0.1:{server.server_address[1]}/camera.mjpg"
    predictor = Predictor.load(args.model, pretrained=not args.random_init, batch_size=1,
                               roi="center:0.5", workers=0)  # fmt: skip
    stream = VideoStream(predictor, url)
    samples, started, next_sample = [], time.monotonic(), 0.0
    for _ in stream:
        elapsed = time.monotonic() - started
        if elapsed >= next_sample:
            queue = stream._reader._queue.qsize() if stream._reader else 0
            samples.append({"seconds": round(elapsed, 1), "rss_mb": round(rss_mb(), 1),
                            "frames": stream.stats.frames, "dropped": stream._reader.dropped,
                            "queue": queue})  # fmt: skip
            print(json.dumps(samples[-1]), flush=True)
            next_sample += 10.0
        if elapsed >= args.minutes * 60:
            break
    stream.close()
    server.shutdown()
    first = samples[min(1, len(samples) - 1)]  # after the first 10 s (model warm)
    last = samples[-1]
    summary = {
        "minutes": args.minutes, "frames": last["frames"], "dropped": last["dropped"],
        "rss_start_mb": first["rss_mb"], "rss_end_mb": last["rss_mb"],
        "rss_growth_mb": round(last["rss_mb"] - first["rss_mb"], 1),
        "max_queue": max(s["queue"] for s in samples),
    }  # fmt: skip
    print(json.dumps(summary))
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "samples": samples}, indent=2))


if __name__ == "__main__":
    main()
