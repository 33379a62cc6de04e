"""The HTTP surface: the server, its web config (TLS, basic auth), the support API and
the Prometheus collector with its fast exposition."""
