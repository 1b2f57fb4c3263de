"""A real S3-protocol server for the benchmarks: moto's standalone server, in its own process.

Started on first use on a free loopback port and stopped at exit. ``fresh_bucket`` empties the
server first (moto keeps objects in memory) so that repetitions do not pile up gigabytes.
"""

from __future__ import annotations

import atexit
import socket
import subprocess
import sys
import time
import urllib.request

from benchmarks import harness

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class S3Server:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        atexit.register(self.stop)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(self.url + "/moto-api/", timeout=1).close()
                break
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise harness.CommandError("the moto S3 server did not start") from None
                time.sleep(0.2)
        harness.log(f"moto S3 server on {self.url}")

    def fresh_bucket(self, name: str) -> str:
        """Drop everything the server holds, then create bucket ``name``; its s3:// URL."""
        reset = urllib.request.Request(self.url + "/moto-api/reset", method="POST")
        urllib.request.urlopen(reset, timeout=30).close()
        create = urllib.request.Request(f"{self.url}/{name}", method="PUT")
        urllib.request.urlopen(create, timeout=30).close()
        return f"s3://{name}/data"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


_server: S3Server | None = None


def server() -> S3Server:
    global _server
    if _server is None:
        _server = S3Server()
    return _server
