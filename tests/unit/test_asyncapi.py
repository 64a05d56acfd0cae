"""The AsyncAPI document is one the official tools accept: `@asyncapi/parser` (what
`asyncapi validate` runs) reports no error and no warning, every `$ref` resolves inside
the document, every channel has an operation, and every message's example is valid against
its own payload schema. scripts/node-tools (run by scripts/bootstrap) installs the parser."""

from __future__ import annotations

import json
import shutil
import subprocess

import jsonschema
import pytest

from shared.contracts.asyncapi import build_asyncapi, local_refs
from shared.contracts.events import ALL_EVENTS, TOPICS
from shared.contracts.generate import ASYNCAPI
from tests.support.processes import REPO

TOOL = REPO / "tools" / "asyncapi"


def _resolve(document: dict, ref: str) -> object:
    assert ref.startswith("#/"), ref
    node: object = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def test_the_official_parser_accepts_the_checked_in_document() -> None:
    node = shutil.which("node")
    assert node, "node is missing; scripts/bootstrap installs it"
    if not (TOOL / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("the AsyncAPI parser is not installed: run scripts/node-tools (scripts/bootstrap does)")
    run = subprocess.run([node, str(TOOL / "validate.mjs"), str(ASYNCAPI)], capture_output=True, text=True,
                         timeout=120, cwd=TOOL)
    assert run.stdout, run.stderr
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["errors"] == [] and run.returncode == 0, result
    assert result["warnings"] == [], result
    assert result["operations"] == len(TOPICS)
    assert result["messages"] == len(ALL_EVENTS)


def test_every_ref_resolves_inside_the_document_and_nothing_is_pydantic_local() -> None:
    document = build_asyncapi()
    assert "$defs" not in json.dumps(document)
    for ref in local_refs(document):
        _resolve(document, ref)
    schemas = document["components"]["schemas"]
    assert {cls.__name__ for cls in ALL_EVENTS} | {"Jurisdiction"} <= set(schemas)


def test_one_send_operation_per_channel_naming_all_its_messages() -> None:
    document = build_asyncapi()
    operations = document["operations"].values()
    assert sorted(_resolve(document, op["channel"]["$ref"])["address"] for op in operations) == sorted(TOPICS)
    for op in operations:
        channel = _resolve(document, op["channel"]["$ref"])
        assert op["action"] == "send"
        assert len(op["messages"]) == len(channel["messages"]) > 0


def test_every_example_is_valid_against_its_message_schema() -> None:
    document = build_asyncapi()
    for message in document["components"]["messages"].values():
        schema = {**_resolve(document, message["payload"]["$ref"]), "components": document["components"]}
        [example] = message["examples"]
        jsonschema.validate(example["payload"], schema)
        jsonschema.validate(example["headers"], message["headers"])
        assert example["headers"]["ce_type"] == message["name"]


def test_models_are_generated_from_the_document_for_every_event() -> None:
    """What a subscriber's `asyncapi generate models` makes: a model per event, in Python
    and TypeScript (@asyncapi/modelina, the library behind that command)."""
    node = shutil.which("node")
    assert node, "node is missing; scripts/bootstrap installs it"
    if not (TOOL / "node_modules" / "@asyncapi" / "modelina").is_dir():
        pytest.fail("the AsyncAPI model generator is not installed: run scripts/node-tools (scripts/bootstrap does)")
    run = subprocess.run([node, str(TOOL / "models.mjs"), str(ASYNCAPI)], capture_output=True, text=True,
                         timeout=180, cwd=TOOL)
    assert run.returncode == 0 and run.stdout, run.stderr[-3000:]
    models = json.loads(run.stdout.strip().splitlines()[-1])
    for language in ("python", "typescript"):
        assert {cls.__name__ for cls in ALL_EVENTS} <= set(models[language]), (language, models[language])
