"""OpenTelemetry tracing, configured by the standard environment: the server's request spans reach
a real OTLP/HTTP receiver (a small HTTP server here, decoding the protobuf export), each tagged with
its request id; unconfigured, no tracer is installed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from fastapi.testclient import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from sqlalchemy import Engine
from sync_support import server_config

from server_sync.api import create_app


class Receiver(BaseHTTPRequestHandler):
    exports: ClassVar[list[ExportTraceServiceRequest]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        message = ExportTraceServiceRequest()
        message.ParseFromString(body)
        Receiver.exports.append(message)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def collector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Receiver.exports = []
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_request_spans_reach_the_collector(
    collector: str, sync_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector)
    app = create_app(server_config(), engine=sync_engine)
    with TestClient(app) as client:
        answer = client.get("/v1/health", headers={"X-Request-ID": "trace-me-1"})
        assert answer.status_code == 200
        assert client.get("/v1/sync/pull").status_code == 401
        app.state.tracer_provider.force_flush()
    spans = [
        span
        for export in Receiver.exports
        for resource in export.resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    services = {
        a.value.string_value
        for export in Receiver.exports
        for resource in export.resource_spans
        for a in resource.resource.attributes
        if a.key == "service.name"
    }
    assert services == {"spotter-sync"}
    names = {span.name for span in spans}
    assert {"GET /v1/health", "GET /v1/sync/pull"} <= names, names
    tagged = {
        a.value.string_value for span in spans for a in span.attributes if a.key == "spotter.request_id"
    }
    assert "trace-me-1" in tagged


def test_without_a_collector_nothing_is_traced(sync_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert create_app(server_config(), engine=sync_engine).state.tracer_provider is None
