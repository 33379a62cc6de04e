import pytest

from exporter.model import Probe, Tenant
from exporter.support.detection import Action, detect

P = (Probe("ui", "http://x/"), Probe("chat", "http://x/"))
PROD = Tenant("prod", probes=P)
TEST = Tenant("test", probes=P, environment="non-production")


@pytest.mark.parametrize(
    "states, open_detected, actions",
    [
        ({"ui": "down", "chat": "down"}, {}, [Action("open", "prod", priority="P1")]),
        ({"ui": "down", "chat": "up"}, {}, [Action("open", "prod", priority="P2")]),
        ({"ui": "down", "chat": "unknown"}, {}, [Action("open", "prod", priority="P2")]),
        ({"ui": "up", "chat": "unknown"}, {}, []),
        ({"ui": "down", "chat": "down"}, {"prod": ("DET-1", "P2")}, [Action("raise", "prod", "P1", "DET-1")]),
        ({"ui": "down", "chat": "up"}, {"prod": ("DET-1", "P1")}, []),  # never lowered
        ({"ui": "up", "chat": "up"}, {"prod": ("DET-1", "P1")}, [Action("close", "prod", incident="DET-1")]),
        ({"ui": "unknown", "chat": "unknown"}, {"prod": ("DET-1", "P2")}, [Action("close", "prod", incident="DET-1")]),
    ],
)
def test_detect(states, open_detected, actions):
    all_down = {"ui": "down", "chat": "down"}
    assert detect([PROD, TEST], {"prod": states, "test": all_down}, open_detected) == actions
