"""An OpenAPI description rendered as one self-contained HTML page (no scripts, no external assets)."""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """
body{font:15px/1.5 system-ui,"PingFang SC","Microsoft YaHei",sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem}
h2{border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2.2rem}
.op{border:1px solid #ddd;border-radius:6px;margin:1rem 0;padding:.6rem 1rem}
.method{display:inline-block;min-width:4rem;font-weight:bold;color:#fff;border-radius:4px;text-align:center;margin-right:.5rem}
.get{background:#2f7d32}.post{background:#1565c0}
code{background:#f4f4f4;padding:0 .2rem;border-radius:3px}
table{border-collapse:collapse;width:100%;margin:.4rem 0}
td,th{border:1px solid #e3e3e3;padding:.25rem .5rem;text-align:left;vertical-align:top}
.muted{color:#777}
"""


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """Follow a local $ref (#/components/...)."""
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target[part]
        node = target
    return node


def _type(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    schema = _resolve(spec, schema)
    if "anyOf" in schema and "type" not in schema:
        return " or ".join(dict.fromkeys(_type(spec, branch) for branch in schema["anyOf"]))
    kind = schema.get("type", "object")
    if kind == "array":
        return f"array of {_type(spec, schema.get('items', {}))}"
    if "enum" in schema:
        return f"{kind}: " + " | ".join(str(value) for value in schema["enum"])
    return kind + (f" ({schema['format']})" if "format" in schema else "")


def _fields(spec: dict[str, Any], schema: dict[str, Any]) -> str:
    schema = _resolve(spec, schema)
    required = set(schema.get("required", []))
    properties = dict(schema.get("properties", {}))
    for branch in schema.get("anyOf", []):  # alternatives (exactly one of group or agent): their fields, once each
        branch = _resolve(spec, branch)
        for name, prop in branch.get("properties", {}).items():
            if name in branch.get("required", []) or name not in properties:
                properties[name] = prop
    rows = "".join(
        f"<tr><td><code>{escape(name)}</code>{' *' if name in required else ''}</td>"
        f"<td>{escape(_type(spec, prop))}</td><td>{escape(_resolve(spec, prop).get('description', ''))}</td></tr>"
        for name, prop in properties.items()
    )
    return f"<table><tr><th>field</th><th>type</th><th>meaning</th></tr>{rows}</table>" if rows else ""


def _operation(spec: dict[str, Any], path: str, method: str, op: dict[str, Any]) -> str:
    secured = op.get("security", spec.get("security")) != []
    parts = [f'<div class="op"><p><span class="method {method}">{method.upper()}</span><code>{escape(path)}</code> '
             f'— {escape(op.get("summary", ""))}'
             f'{"" if secured else " <span class=muted>(no token needed)</span>"}</p>']
    if op.get("description"):
        parts.append(f"<p>{escape(op['description'])}</p>")
    if op.get("parameters"):
        rows = "".join(
            f"<tr><td><code>{escape(p['name'])}</code>{' *' if p.get('required') else ''}</td><td>{escape(p['in'])}</td>"
            f"<td>{escape(_type(spec, p.get('schema', {})))}</td><td>{escape(p.get('description', ''))}</td></tr>"
            for p in op["parameters"])
        parts.append(f"<table><tr><th>parameter</th><th>in</th><th>type</th><th>meaning</th></tr>{rows}</table>")
    body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
    if body:
        parts.append(f"<p>Body: JSON <code>{escape(_type(spec, body))}</code></p>{_fields(spec, body)}")
    answers = []
    for status, answer in op.get("responses", {}).items():
        answer = _resolve(spec, answer)
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        shape = f" → <code>{escape(_type(spec, schema))}</code>" if schema else ""
        answers.append(f"<li><b>{escape(status)}</b> {escape(answer.get('description', ''))}{shape}</li>")
    parts.append(f"<ul>{''.join(answers)}</ul></div>")
    return "".join(parts)


def render_docs(spec: dict[str, Any]) -> str:
    info = spec["info"]
    operations = "".join(_operation(spec, path, method, op)
                         for path, methods in spec["paths"].items() for method, op in methods.items())
    schemas = "".join(f"<h3 id='{escape(name)}'>{escape(name)}</h3>{_fields(spec, schema)}"
                      for name, schema in spec["components"]["schemas"].items())
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>{escape(info['title'])}</title>"
            f"<style>{STYLE}</style></head><body><h1>{escape(info['title'])}</h1>"
            f"<p>{escape(info.get('description', ''))}</p><p class='muted'>OpenAPI {escape(spec['openapi'])}: "
            f"<a href='/openapi.json'>/openapi.json</a></p><h2>Routes</h2>{operations}<h2>Schemas</h2>{schemas}"
            f"</body></html>")
