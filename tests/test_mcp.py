"""The app as an MCP server: `GRADIO_MCP_SERVER=True python app.py` (or `python app.py --mcp`).

Gradio serves every public API endpoint as an MCP tool, over streamable HTTP at /gradio_api/mcp/ and over SSE
at /gradio_api/mcp/sse, and lists them at /gradio_api/mcp/schema. A tool is named after the handler function;
`meta.endpoint_name` is the endpoint's `api_name`, which is what these tests look tools up by. Its description
and its parameters' descriptions come from the handler's docstring (summary line, then an Args: section).
"""
import ast
import asyncio
import json
import os
import urllib.request
from pathlib import Path

import pytest

from conftest import app_process

pytest.importorskip("mcp.client.streamable_http", reason="the `mcp` package is missing: pip install 'gradio[mcp]'")

SENTENCE = "A gorgeous, witty and moving film."
CORE_ENDPOINTS = ("predict", "attention", "train", "plan")
pytestmark = pytest.mark.timeout(240)


def _get(url: str, timeout: float = 5) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()


def _serve(tmp_path: Path, *args: str, env_mcp: bool):
    """app.py in its own interpreter; (process, base URL) once the MCP schema is served."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "KTDEMO_TRAINING": "thread"}
    env.pop("GRADIO_MCP_SERVER", None)
    if env_mcp:
        env["GRADIO_MCP_SERVER"] = "True"
    return app_process(["app.py", *args], env, tmp_path / "app.log", ready="/gradio_api/mcp/schema")


@pytest.fixture(scope="module")
def mcp_app(tmp_path_factory):
    """`GRADIO_MCP_SERVER=True python app.py`; yields (base URL, {endpoint name: tool as served by /schema})."""
    with _serve(tmp_path_factory.mktemp("mcp-app"), env_mcp=True) as (_, url):
        schema = json.loads(_get(url + "/gradio_api/mcp/schema"))
        yield url, {tool["meta"]["endpoint_name"]: tool for tool in schema}


def _default_labels() -> list[str]:
    from ktdemo import data

    return list(data.DATASETS[data.DEFAULT_DATASET].label_names)


def test_the_core_endpoints_are_tools_with_typed_inputs(mcp_app):
    _, tools = mcp_app
    assert set(CORE_ENDPOINTS) <= set(tools), sorted(tools)
    for endpoint in CORE_ENDPOINTS:
        schema = tools[endpoint]["inputSchema"]
        assert schema["type"] == "object" and schema["properties"], endpoint
        untyped = [name for name, spec in schema["properties"].items() if "type" not in spec and "enum" not in spec]
        assert not untyped, f"{endpoint}: untyped parameters {untyped}"
    predict = tools["predict"]["inputSchema"]
    (text,) = predict["required"]  # the text; model and dataset have defaults
    assert predict["properties"][text]["type"] == "string"


def test_the_core_tools_describe_themselves(mcp_app):
    """An agent picks a tool by its description: Gradio takes it from the handler's docstring."""
    _, tools = mcp_app
    empty = [endpoint for endpoint in CORE_ENDPOINTS if not tools[endpoint]["description"].strip()]
    assert not empty, f"tools without a description: {empty}"


async def _call_predict(url: str, tool: dict) -> tuple[bool, str]:
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async with streamablehttp_client(url + "/gradio_api/mcp/") as (read, write, _):
        async with ClientSession(read, write) as session:
            await session.initialize()
            listed = {listed_tool.name for listed_tool in (await session.list_tools()).tools}
            assert tool["name"] in listed
            (text,) = tool["inputSchema"]["required"]
            result = await session.call_tool(tool["name"], {text: SENTENCE})
    return result.isError, "\n".join(getattr(content, "text", "") for content in result.content)


def _label_outputs(text: str) -> list[dict]:
    """The gr.Label outputs in a tool's text: Gradio sends the outputs as the str() of their list."""
    try:
        outputs = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return []
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return [output for output in outputs if isinstance(output, dict) and "confidences" in output]


def test_predict_over_streamable_http_answers_with_the_default_datasets_labels(mcp_app):
    url, tools = mcp_app
    is_error, text = asyncio.run(asyncio.wait_for(_call_predict(url, tools["predict"]), timeout=120))
    assert not is_error, text[-2000:]
    assert "Traceback" not in text
    labels = _default_labels()
    assert all(label in text for label in labels), text[:500]
    (prediction,) = _label_outputs(text)
    assert prediction["label"] in labels
    assert {item["label"] for item in prediction["confidences"]} == set(labels)
    assert sum(item["confidence"] for item in prediction["confidences"]) == pytest.approx(1, abs=1e-4)
    assert "untrained head" in text  # before any training the pretrained encoder answers, with a fresh head


def test_the_sse_transport_lists_the_same_tools(mcp_app):
    from mcp import ClientSession
    from mcp.client.sse import sse_client

    url, tools = mcp_app

    async def list_tools():
        async with sse_client(url + "/gradio_api/mcp/sse") as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return {tool.name for tool in (await session.list_tools()).tools}

    assert asyncio.run(asyncio.wait_for(list_tools(), timeout=60)) == {tool["name"] for tool in tools.values()}


def test_the_mcp_flag_turns_the_server_on_without_the_environment_variable(tmp_path):
    with _serve(tmp_path, "--mcp", env_mcp=False) as (_, url):
        endpoints = {tool["meta"]["endpoint_name"] for tool in json.loads(_get(url + "/gradio_api/mcp/schema"))}
        assert set(CORE_ENDPOINTS) <= endpoints
