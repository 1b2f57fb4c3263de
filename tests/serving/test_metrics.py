"""Prometheus /metrics, read with prometheus-client's own parser."""

from __future__ import annotations

from tests.serving.conftest import Running
from tests.serving.test_protocol import ROW, infer_body


def test_metrics_count_requests_errors_batches_and_version(server: Running) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    for _ in range(3):
        assert server.json("POST", "/v2/models/lr/infer", infer_body([ROW]))[0] == 200
    assert server.json("POST", "/v2/models/lr/infer", {"inputs": []})[0] == 400
    status, headers, text = server.request("GET", "/metrics")
    assert status == 200
    assert headers["content-type"].startswith("text/plain")
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
    }
    ok = ("tether_requests_total", (("code", "200"), ("model", "lr"), ("protocol", "v2")))
    bad = ("tether_requests_total", (("code", "400"), ("model", "lr"), ("protocol", "v2")))
    assert samples[ok] >= 3
    assert samples[bad] >= 1
    assert samples[("tether_request_seconds_count", (("model", "lr"),))] >= 3
    assert samples[("tether_batch_rows_sum", (("model", "lr"),))] >= 3
    assert samples[("tether_model_version", (("model", "lr"),))] == 1
    assert ("tether_prediction_log_dropped_rows_total", ()) in samples
