"""``observe_many`` leaves a histogram exactly as observing each amount would."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Histogram, generate_latest

from streams.worker.metrics import observe_counted, observe_many


def test_observe_many_equals_observe_each() -> None:
    amounts = [0.0, 0.05, 0.051, 0.3, 1.0, 2.5, 7.0, 99.0, 1e9, 0.05]
    exposition = []
    for bulk in (False, True):
        r = CollectorRegistry()
        h = Histogram("lat_seconds", "x", buckets=(0.05, 0.1, 0.5, 1, 5, 10), registry=r)
        if bulk:
            observe_many(h, amounts)
        else:
            for a in amounts:
                h.observe(a)
        exposition.append(generate_latest(r).decode().replace("_created", "").splitlines())
    strip = [[line for line in e if "created" not in line and not line.startswith("lat_seconds ")] for e in exposition]
    assert strip[0] == strip[1]
    assert 'lat_seconds_bucket{le="0.05"} 3.0' in strip[1]


def test_observe_counted_equals_observe_each_as_often_as_counted() -> None:
    counted = [(0.0, 2), (0.05, 3), (0.3, 1), (7.0, 4), (1e9, 1)]
    exposition = []
    for bulk in (False, True):
        r = CollectorRegistry()
        h = Histogram("lat_seconds", "x", buckets=(0.05, 0.1, 0.5, 1, 5, 10), registry=r)
        if bulk:
            observe_counted(h, counted)
        else:
            for a, n in counted:
                for _ in range(n):
                    h.observe(a)
        exposition.append([line for line in generate_latest(r).decode().splitlines() if "created" not in line])
    assert exposition[0] == exposition[1]
    assert 'lat_seconds_bucket{le="0.05"} 5.0' in exposition[1]
    assert "lat_seconds_count 11.0" in exposition[1]
