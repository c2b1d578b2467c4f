"""The API answers as its OpenAPI description says: schemathesis sends generated requests,
valid and not, to every operation of a real `catalog serve` (with a fixed seed and a bounded
number of examples) and checks that no answer is a 5xx and that every answer's status,
content type, headers and body are the description's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from infra.http.openapi.operations import PATCH_TYPES
from tests.e2e.conftest import start_server, stop_server
from tests.serving import ANSWER_SECONDS

REPOSITORY = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
SEED = 20261205
EXAMPLES = 8
RUN_SECONDS = 600


def call(url: str, method: str, body: object = None, kind: str = "application/json") -> Any:
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": kind})
    with urllib.request.urlopen(request, timeout=ANSWER_SECONDS) as answer:
        text = answer.read()
    return json.loads(text) if text else None


def image(url: str) -> str:
    """An active, shared image with a tag and a member."""
    made = call(f"{url}/v2/images", "POST", {"disk_format": "raw", "container_format": "bare"})
    image_id: str = made["id"]
    call(f"{url}/v2/images/{image_id}/file", "PUT", b"image data", "application/octet-stream")
    call(f"{url}/v2/images/{image_id}/tags/blue", "PUT")
    share = [{"op": "replace", "path": "/visibility", "value": "shared"}]
    call(f"{url}/v2/images/{image_id}", "PATCH", share, PATCH_TYPES[0])
    call(f"{url}/v2/images/{image_id}/members", "POST", {"member": "proj-m"})
    return image_id


def namespace(url: str, name: str) -> str:
    """A namespace holding each kind of content."""
    body = {
        "namespace": name,
        "resource_type_associations": [{"name": "OS::Glance::Image", "prefix": "c_"}],
        "properties": {"cpu": {"type": "integer", "title": "CPUs"}},
        "objects": [{"name": "Sizes", "properties": {"ram": {"type": "integer", "title": "RAM"}}}],
        "tags": [{"name": "small"}],
    }
    call(f"{url}/v2/metadefs/namespaces", "POST", body)
    return name


def configuration(url: str) -> str:
    """schemathesis's configuration: things for the generated requests to find, so that more
    than 404s are checked; deletes get things of their own, so that the others keep theirs."""
    found = {
        "path.tag_value": "blue",
        "path.member_id": "proj-m",
        "path.store_id": "file",
        "path.object_name": "Sizes",
        "path.property_name": "cpu",
        "path.tag_name": "small",
        "path.resource_type": "OS::Glance::Image",
    }
    kept = {"path.image_id": image(url), "path.namespace": namespace(url, "OS::Kept")}
    doomed = {"path.image_id": image(url), "path.namespace": namespace(url, "OS::Doomed")}

    def table(values: dict[str, str]) -> str:
        return (
            "{" + ", ".join(f"{json.dumps(k)} = {json.dumps(v)}" for k, v in values.items()) + "}"
        )

    return (
        f"parameters = {table({**found, **kept})}\n\n"
        f'[[operations]]\ninclude-method = "DELETE"\nparameters = {table({**found, **doomed})}\n'
    )


def test_every_answer_is_as_described(tmp_path: Path) -> None:
    url, server = start_server(
        tmp_path / "data",
        tmp_path / "server.log",
        {"CATALOG_IMAGE_CACHE_DIR": str(tmp_path / "cache"), "CATALOG_LOG_LEVEL": "WARNING"},
    )
    try:
        config = tmp_path / "schemathesis.toml"
        config.write_text(configuration(url))
        run = subprocess.run(
            [
                str(SCHEMATHESIS),
                "--config-file",
                str(config),
                "run",
                f"{url}/openapi.json",
                "--checks",
                ",".join(CHECKS),
                "--phases",
                "examples,coverage,fuzzing",
                "--max-examples",
                str(EXAMPLES),
                "--seed",
                str(SEED),
                "--workers",
                "1",
                "--request-timeout",
                str(ANSWER_SECONDS),
                "--no-color",
            ],
            cwd=tmp_path,
            env={
                **os.environ,
                "PYTHONPATH": str(REPOSITORY),
                "SCHEMATHESIS_HOOKS": "tests.e2e.openapi_hooks",
            },
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS,
        )
    finally:
        stop_server(server)
    said = run.stdout + run.stderr
    assert run.returncode == 0, said + "\n--- server ---\n" + (tmp_path / "server.log").read_text()
