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


def test_tallied_counts_and_histograms_match_prometheus_own() -> None:
    """Requests and observations kept as plain numbers and added in bulk give exactly the
    exposition prometheus-client's own calls give, bucket by bucket."""
    import random

    from tether.serving.metrics import LATENCY_BUCKETS, Metrics

    tallied, direct = Metrics(), Metrics()
    assert tallied.tally is not None
    direct.tally = None
    rng = random.Random(0)
    values = [rng.choice([0.0, *LATENCY_BUCKETS, 1e9]) for _ in range(50)]
    values += [rng.uniform(0, 3) for _ in range(500)]
    for i, v in enumerate(values):
        for m in (tallied, direct):
            m.count_request("lr" if i % 3 else "tab", "v2", 200 if i % 7 else 400)
            m.observe_latency("lr", v)
            m.observe_batch("lr", 1 + i % 70)
    assert _samples(tallied.render()[0]) == _samples(direct.render()[0])


def _samples(text: bytes) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample but the creation times (which differ by when each series was made)."""
    from prometheus_client.parser import text_string_to_metric_families

    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text.decode())
        for s in family.samples
        if not s.name.endswith("_created")
    }


def test_tallied_counts_reach_the_metrics_within_a_second_without_a_scrape() -> None:
    import asyncio

    from tether.serving.metrics import FLUSH_S, Metrics

    m = Metrics()

    async def main() -> tuple[float | None, float | None]:
        for _ in range(5):
            m.count_request("lr", "v2", 200)
        labels = {"model": "lr", "protocol": "v2", "code": "200"}
        before = m.registry.get_sample_value("tether_requests_total", labels)
        await asyncio.sleep(FLUSH_S + 0.3)
        return before, m.registry.get_sample_value("tether_requests_total", labels)

    before, after = asyncio.run(main())
    assert before is None and after == 5
