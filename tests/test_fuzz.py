"""Property-based fuzzing of the HTTP API from its own OpenAPI schema (schemathesis): no 5xx."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from conftest import SEED, FakeEmbedder
from onrecord.api import create_app
from onrecord.config import Settings
from onrecord.service import Onrecord


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    core = Onrecord(Settings(index=tmp_path_factory.mktemp("fuzz") / "index"), embedder=FakeEmbedder())
    assert core.ingest_paths([str(SEED)]).ok
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(core.settings, core, ui=False))


def test_no_input_makes_a_server_error(api_schema):
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 6
    calls = []
    for operation in operations:
        strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE) | operation.as_strategy(
            generation_mode=GenerationMode.NEGATIVE
        )

        @given(case=strategy)
        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case):
            response = case.call()
            calls.append(response.status_code)
            documented = case.path == "/api/oembed" and response.status_code == 501  # oEmbed's answer to format=xml
            assert response.status_code < 500 or documented, f"{case.method} {case.path}: {response.status_code} {response.text[:300]}"
            if response.status_code >= 400 and case.path.startswith("/a/"):  # the answer page is HTML, errors too
                assert "text/html" in str(response.headers.get("content-type")) and "<p>" in response.text
            elif response.status_code >= 400:
                assert isinstance(response.json().get("detail"), str)

        fuzz()
    print("fuzz calls by status:", sorted(__import__("collections").Counter(calls).items()))
    assert len(calls) > 100
