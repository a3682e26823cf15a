"""The API as the OpenAPI schema describes it (drf-spectacular, generated in-process), and the
helpers the tenant matrix and the fuzzer share: which operations name objects by id, which body
fields take references, a plausible body for an operation, and a snapshot of every table."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.conftest import make_png
from tests.security.world import KIND_BY_PARAM, KIND_BY_SEGMENT

METHODS = ("get", "put", "post", "patch", "delete")
MISSING_ID = 999_999
# Values of a page's `<str:…>` parameters that its owner can reach (an item's reference image).
PAGE_STR_PARAMS = {"slot": "ref"}
# Body fields that take a metric reference (`fitted:<id>`, `uploaded:<id>`, or a registry name).
METRIC_REF_FIELDS = {"metric"}
# World kinds a body field may name by id (a field named after the kind: `study`, `image_set`).
OBJECT_KINDS = set(KIND_BY_SEGMENT.values()) | set(KIND_BY_PARAM.values())


def openapi_schema() -> dict:
    """The schema as served at /api/schema/ (JSON), without a request."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    schema = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(schema, renderer_context={}))


def is_id_param(param: str) -> bool:
    return param in ("id", "pk") or param.endswith(("_pk", "_id"))


def kind_of_param(param: str) -> str | None:
    """`spec_pk` → distortion_spec (KIND_BY_PARAM); `dataset_id` → dataset (a kind's name)."""
    if param in KIND_BY_PARAM:
        return KIND_BY_PARAM[param]
    name = param.removesuffix("_id").removesuffix("_pk")
    return name if name in OBJECT_KINDS else None


def _resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


@dataclass
class Operation:
    method: str
    path: str
    operation: dict
    schema: dict = field(repr=False)

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def path_params(self) -> list[str]:
        return re.findall(r"{(\w+)}", self.path)

    @property
    def id_params(self) -> list[str]:
        """Path parameters that name an object by id (`{id}`, `{spec_pk}` …)."""
        return [p for p in self.path_params if is_id_param(p)]

    def kind_of(self, param: str) -> str | None:
        """The world kind that `param` names: the collection before `{id}`, or by its name."""
        if param == "id":
            before = self.path.split("{id}")[0].rstrip("/").rsplit("/", 1)[-1]
            return KIND_BY_SEGMENT.get(before)
        return kind_of_param(param)

    def url(self, values: dict[str, object]) -> str:
        return re.sub(r"{(\w+)}", lambda m: str(values[m.group(1)]), self.path)

    def request_content(self) -> tuple[str | None, dict]:
        """(format for the test client, resolved body schema), or (None, {}) without a body."""
        content = self.operation.get("requestBody", {}).get("content", {})
        for media, fmt in (("application/json", "json"), ("multipart/form-data", "multipart")):
            if media in content:
                return fmt, _resolve(self.schema, content[media].get("schema", {}))
        return None, {}

    def body_fields(self) -> dict[str, dict]:
        return {
            name: _resolve(self.schema, prop)
            for name, prop in self.request_content()[1].get("properties", {}).items()
            if not prop.get("readOnly")
        }

    def example_body(self, **overrides) -> tuple[dict | None, str | None]:
        """A plausible body: every writable field with a simple value of its type (enums: the
        first choice), then `overrides`. Enough to reach the object lookup and the services."""
        fmt, _ = self.request_content()
        if fmt is None:
            return None, None
        body = {name: _example(prop) for name, prop in self.body_fields().items()}
        body = {k: v for k, v in body.items() if v is not None}
        body.update(overrides)
        if fmt == "multipart":
            body = {
                k: v for k, v in body.items() if not isinstance(v, (dict, list)) or v
            }  # the test client cannot send empty collections as form fields
        return body, fmt


def _example(prop: dict):
    if "default" in prop:
        return prop["default"]
    if "enum" in prop:
        return next((v for v in prop["enum"] if v not in (None, "")), None)
    if "allOf" in prop or "oneOf" in prop:
        return None
    kind = prop.get("type")
    if kind == "string":
        if prop.get("format") == "binary":
            return SimpleUploadedFile("example.png", make_png(64, 64, seed=3))
        return "example"[: prop.get("maxLength", 7)] or None
    if kind == "integer":
        return prop.get("minimum", 1)
    if kind == "number":
        return prop.get("minimum", 0.5)
    if kind == "boolean":
        return True
    if kind == "array":
        return []
    if kind == "object":
        return {}
    return None


def operations(schema: dict | None = None) -> list[Operation]:
    schema = schema or openapi_schema()
    return [
        Operation(method, path, op, schema)
        for path, item in sorted(schema["paths"].items())
        for method, op in item.items()
        if method in METHODS
    ]


def object_operations(schema: dict | None = None) -> list[Operation]:
    """Every operation of a path with an id parameter."""
    return [op for op in operations(schema) if op.id_params]


@dataclass
class Page:
    """A URL pattern outside the API and the admin with id parameters (e.g. export downloads)."""

    route: str

    def __str__(self) -> str:
        return f"GET /{self.route}"

    @property
    def id_params(self) -> list[str]:
        return [p for p in re.findall(r"<int:(\w+)>", self.route) if is_id_param(p)]

    def kind_of(self, param: str) -> str | None:
        return kind_of_param(param)

    def url(self, values: dict[str, object]) -> str:
        url = re.sub(r"<int:(\w+)>", lambda m: str(values[m.group(1)]), self.route)
        return "/" + re.sub(r"<str:(\w+)>", lambda m: PAGE_STR_PARAMS[m.group(1)], url)


def object_pages() -> list[Page]:
    """Every route with an `<int:…>` parameter that is neither API (the schema lists those) nor
    admin (the admin registry does)."""
    from django.urls import URLPattern, URLResolver, get_resolver

    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield route

    return [
        Page(route)
        for route in sorted(set(walk(get_resolver().url_patterns)))
        if Page(route).id_params and not route.startswith(("admin/", "api/"))
    ]


# Columns a request writes as a side effect of being made, not a change to its objects: a token
# notes when it was last used.
NOT_WRITES = {("common.ApiToken", "last_used_at")}


def snapshot() -> dict[str, str]:
    """A digest of every row of every table (sessions aside: logging in writes one; NOT_WRITES
    aside) and the
    list of stored files, to check that a request wrote nothing."""
    digests = {}
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or model._meta.label == "sessions.Session":
            continue
        fields = [
            f.attname
            for f in model._meta.concrete_fields
            if (model._meta.label, f.name) not in NOT_WRITES
        ]
        rows = list(model._default_manager.order_by("pk").values_list(*fields))
        digests[model._meta.label] = hashlib.sha256(repr(rows).encode()).hexdigest()
    media = Path(settings.MEDIA_ROOT)
    digests["files"] = repr(sorted(str(p) for p in media.rglob("*"))) if media.exists() else ""
    return digests


def changed(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
