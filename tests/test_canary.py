"""Connectivity canaries: the verdict, its reuse, and what the daemon makes of a failure."""

import errno

import pytest
import requests
import responses

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


def test_canaries_through_the_real_prober_with_the_transport_mocked():
    """The real Prober under Connectivity; `responses` answers for the network (no socket,
    no DNS): a canary timing out and one refused mean our network is down, each failure
    classified as the prober would a real one; one canary answering means it is up."""
    refused = requests.exceptions.ConnectionError("Connection refused")
    refused.__cause__ = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")  # as requests raises it
    now = [100.0]
    with responses.RequestsMock() as http:
        http.get(A, body=requests.exceptions.ConnectTimeout("timed out"))
        http.get(B, body=refused)
        prober = Prober()
        try:
            c = Connectivity(prober, Monitor(canaries=(A, B)), clock=lambda: now[0])
            assert c.network_up() is False
            results = [prober.probe(canary) for canary in c.canaries]
            assert [(r.reason, r.status_code) for r in results] == [("timeout", None), ("connection", None)]
            assert results[1].error == "connection failed: Connection refused"
            http.replace(responses.GET, B, body="ok")
            now[0] += VERDICT_TTL
            assert c.network_up() is True
        finally:
            prober.close()
