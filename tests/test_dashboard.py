"""docs/grafana-dashboard.json: importable, and every series it queries is one the controller
exposes at /metrics."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

from controller import metrics

DASHBOARD = Path(__file__).parent.parent / "docs" / "grafana-dashboard.json"


def exposed_series() -> set[str]:
    names = set(metrics.STATE_GAUGES)
    for family in REGISTRY.collect():
        if family.name.startswith("cc_"):
            names.update(sample.name for sample in family.samples)
            # histograms/counters with no labelled child yet show no samples: their
            # series names follow from the type
            suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}
            names.update(family.name + s for s in suffixes.get(family.type, [""]))
    return names


def test_dashboard_queries_only_exposed_series():
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["__inputs"][0]["pluginId"] == "prometheus"
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    queried = {name for panel in dashboard["panels"] for target in panel["targets"]
               for name in re.findall(r"\bcc_[a-z_]+", target["expr"])}
    assert queried, "the dashboard queries nothing"
    assert queried <= exposed_series(), queried - exposed_series()
    # every metric the controller exposes has a panel
    families = {re.sub(r"_(total|bucket|count|sum)$", "", n) for n in queried}
    wanted = set(metrics.STATE_GAUGES) | {
        f.name for f in REGISTRY.collect() if f.name.startswith("cc_")}
    assert wanted <= families, wanted - families
