"""OpenTelemetry tracing, when configured: a span for every request, exported over OTLP/HTTP.

Configured the standard way, by environment: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) names the collector, and the other ``OTEL_*`` variables
(headers, timeout, ``OTEL_SERVICE_NAME``) are read by the SDK itself. Unset, nothing of
OpenTelemetry's SDK is loaded and requests cost nothing more. Each span carries the request's
``X-Request-ID`` (``spotter.request_id``, set by ``observe``), so a trace and the JSON access log
meet.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import FastAPI

log = logging.getLogger(__name__)

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def configured() -> bool:
    return any(os.environ.get(name) for name in ENDPOINT_VARIABLES)


def install(app: FastAPI) -> Any | None:
    """Trace ``app`` when a collector is configured; the tracer provider (flush or shut it down at
    the end), else None."""
    if not configured():
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    name = os.environ.get("OTEL_SERVICE_NAME", "spotter-sync")
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls="metrics")
    log.info("tracing requests to %s", next(os.environ[n] for n in ENDPOINT_VARIABLES if os.environ.get(n)))
    return provider
