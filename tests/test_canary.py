"""Connectivity canaries: the verdict, its reuse, and what the daemon makes of a failure."""

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from exporter.model import Monitor
from exporter.probing.canary import VERDICT_TTL, Connectivity
from exporter.probing.probes import Prober, ProbeResult


class FakeProber:
    def __init__(self, answers):
        self.answers, self.asked = answers, []

    def probe(self, probe):
        self.asked.append(probe.url)
        ok = self.answers[probe.url]
        return ProbeResult(ok, 0.0, 0.01, 200 if ok else None, None if ok else "connection", None, None)


A, B = "https://a.example.net/", "https://b.example.net/"


@pytest.mark.parametrize(
    "canaries, answers, up, asked",
    [
        ((), {}, None, []),  # no canaries: no verdict
        ((A, B), {A: True, B: False}, True, [A]),  # the first answer is enough
        ((A, B), {A: False, B: True}, True, [A, B]),
        ((A, B), {A: False, B: False}, False, [A, B]),  # every canary fails: our network is down
    ],
)
def test_verdict(canaries, answers, up, asked):
    prober = FakeProber(answers)
    seen = []
    c = Connectivity(prober, Monitor(canaries=canaries), clock=lambda: 100.0, on_verdict=seen.append)
    assert c.network_up() is up
    assert prober.asked == asked
    assert seen == ([] if up is None else [up])


def test_a_verdict_is_reused_for_a_few_seconds():
    prober = FakeProber({A: False})
    now = [100.0]
    c = Connectivity(prober, Monitor(canaries=(A,)), clock=lambda: now[0])
    assert [c.network_up(), c.network_up()] == [False, False]
    assert len(prober.asked) == 1
    now[0] += VERDICT_TTL
    prober.answers[A] = True
    assert c.network_up() is True
    assert len(prober.asked) == 2


def test_canaries_through_the_real_prober():
    """The real Prober under Connectivity against 127.0.0.1 only: a canary whose server accepts
    and never answers (timeout) and one refused mean our network is down, each failure
    classified as the prober would a real one; one canary answering means it is up."""
    hung = socket.socket()
    hung.bind(("127.0.0.1", 0))
    hung.listen(8)  # the kernel accepts; nobody ever answers
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    a = f"http://127.0.0.1:{hung.getsockname()[1]}/"
    b = f"http://127.0.0.1:{refused_port}/"
    now = [100.0]
    prober = Prober()
    try:
        monitor = Monitor(canaries=(a, b), canary_timeout=0.5)
        c = Connectivity(prober, monitor, clock=lambda: now[0])
        assert c.network_up() is False
        results = [prober.probe(canary) for canary in c.canaries]
        assert [(r.reason, r.status_code) for r in results] == [("timeout", None), ("connection", None)]
        assert results[1].error == "connection failed: Connection refused"
        c.configure(Monitor(canaries=(a, f"http://127.0.0.1:{server.server_address[1]}/"), canary_timeout=0.5))
        now[0] += VERDICT_TTL
        assert c.network_up() is True
    finally:
        prober.close()
        server.shutdown()
        server.server_close()
        hung.close()


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
