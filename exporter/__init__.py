"""sla-exporter: calendar-month SLA availability, maintenance-aware, for Prometheus."""

__version__ = "0.1.0"
