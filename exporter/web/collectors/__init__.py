"""The /metrics collectors, one per concern (as prometheus-pve-exporter splits them): tenant
SLA figures, probes, support clocks, the exporter's own health. Each computes its families
at scrape time."""
