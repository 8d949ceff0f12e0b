"""GET /api/v1/openapi.json: an OpenAPI 3 document that matches the routes the app serves."""
from __future__ import annotations

import re

import pytest

from app.models.types import utcnow

API_PREFIX = "/api/v1"
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}


@pytest.fixture
def document(client):
    """The OpenAPI document, fetched without an API key."""
    response = client.get(f"{API_PREFIX}/openapi.json")
    assert response.status_code == 200
    assert response.is_json
    return response.get_json()


def served_operations(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) for every /api/v1 route the app answers."""
    operations = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(API_PREFIX + "/"):
            continue
        path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule.rule[len(API_PREFIX):])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            operations.add((path, method.lower()))
    return operations


def documented_operations(document) -> set[tuple[str, str]]:
    return {(path, method) for path, item in document["paths"].items() for method in item if method in HTTP_METHODS}


def resolve(document, ref: str):
    assert ref.startswith("#/"), f"external or malformed $ref {ref!r}"
    node = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"$ref {ref!r} does not resolve"
        node = node[part]
    return node


def schema_of(document, node):
    """node, or what its $ref points at."""
    return resolve(document, node["$ref"]) if "$ref" in node else node


def all_refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from all_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_refs(item)


def test_the_document_is_openapi_3_and_needs_no_api_key(document):
    assert re.fullmatch(r"3\.\d+\.\d+", document["openapi"])
    assert document["info"]["title"] and document["info"]["version"]
    assert document["servers"] == [{"url": "http://localhost/api/v1"}]
    assert document["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert document["security"] == [{"bearerAuth": []}]


def test_the_documented_paths_and_methods_are_exactly_the_served_routes(app, document):
    served = served_operations(app)
    assert ("/usage", "post") in served and ("/openapi.json", "get") in served  # the rule scan works
    assert documented_operations(document) == served


def test_every_ref_resolves(document):
    refs = list(all_refs(document))
    assert len(refs) > 10
    for ref in refs:
        target = resolve(document, ref)
        assert isinstance(target, dict) and target, ref


def test_every_operation_is_described_with_a_unique_id_and_a_success_response(document):
    ids = []
    for path, item in document["paths"].items():
        assert path.startswith("/") and not path.startswith(API_PREFIX), path
        for method, operation in item.items():
            ids.append(operation["operationId"])
            assert operation["summary"], (path, method)
            successes = [code for code in operation["responses"] if code.startswith("2")]
            assert successes, (path, method)
            for code, response in operation["responses"].items():
                response = resolve(document, response["$ref"]) if "$ref" in response else response
                assert response["description"], (path, method, code)
    assert len(ids) == len(set(ids))


def test_the_documented_security_matches_what_each_route_enforces(client, document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            public = operation.get("security", document["security"]) == []
            concrete = re.sub(r"\{[^}]+\}", "1", path)  # /alert-channels/{route_id} -> /alert-channels/1
            response = client.open(f"{API_PREFIX}{concrete}", method=method.upper(), json={})
            if public:
                assert response.status_code == 200, (path, method)
            else:
                assert response.status_code == 401, (path, method)
                assert "401" in operation["responses"], (path, method)


def test_the_usage_event_schema_lists_the_fields_the_api_requires(document):
    event = document["components"]["schemas"]["UsageEvent"]
    fields = ["id", "user_email", "provider", "model", "input_tokens", "output_tokens", "cost_usd", "occurred_at"]
    assert sorted(event["required"]) == sorted(fields)
    assert set(event["properties"]) == set(fields)
    assert event["properties"]["cost_usd"]["type"] == "string"  # money is a decimal string, never a float
    assert event["properties"]["occurred_at"]["format"] == "date-time"
    body = schema_of(document, document["paths"]["/usage"]["post"]["requestBody"]["content"]["application/json"]
                     ["schema"])
    assert body["required"] == ["events"]
    assert resolve(document, body["properties"]["events"]["items"]["$ref"]) is event
    assert body["properties"]["events"]["maxItems"] == 5000


def test_the_summary_parameter_and_budget_update_match_the_api(document):
    summary = document["paths"]["/usage/summary"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in summary["parameters"]] == [("user_email", "query", False)]
    assert "404" in summary["responses"]
    update = resolve(document, document["paths"]["/budget"]["put"]["requestBody"]["content"]["application/json"]
                     ["schema"]["$ref"])
    assert set(update["properties"]) == {"monthly_limit_usd", "alert_threshold_pct", "alert_thresholds", "channel",
                                         "team_id", "pace_nudges_enabled"}
    assert update["additionalProperties"] is False
    budget = document["components"]["schemas"]["Budget"]
    assert {"monthly_limit_usd", "alert_threshold_pct", "spent_usd", "remaining_usd", "percent_used"} \
        <= set(budget["properties"])
    assert "413" in document["paths"]["/usage"]["post"]["responses"]


def test_the_documented_answers_match_real_answers(api, document, make_user):
    schemas = document["components"]["schemas"]
    make_user("alice@globex.example")
    api("post", "/usage", json={"events": [{
        "id": "e1", "user_email": "alice@globex.example", "provider": "openai", "model": "gpt-4o",
        "input_tokens": 1, "output_tokens": 2, "cost_usd": "0.5", "occurred_at": utcnow().isoformat()}]})
    ingest = api("post", "/usage", json={"events": [{}]}).get_json()
    assert set(ingest) == set(schemas["IngestResult"]["properties"])
    rejection = schema_of(document, schemas["IngestResult"]["properties"]["rejected"]["items"])
    assert set(ingest["rejected"][0]) <= set(rejection["properties"])

    summary = api("get", "/usage/summary").get_json()
    assert set(summary) == set(schemas["UsageSummary"]["properties"])
    assert set(summary["total"]) == set(schema_of(document, schemas["UsageSummary"]["properties"]["total"])["properties"])
    assert set(summary["period"]) == set(schemas["Period"]["properties"])
    assert set(summary["providers"][0]) == set(schemas["ProviderUsage"]["properties"])

    budget = api("get", "/budget").get_json()
    assert set(budget) == set(schemas["Budget"]["properties"])
    money = re.compile(schemas["Money"]["pattern"])
    assert money.match(budget["monthly_limit_usd"]) and money.match(budget["spent_usd"])

    error = api("get", "/usage/summary", query_string={"user_email": "ghost@x.example"}).get_json()
    assert set(error) == set(schemas["Error"]["required"])
    assert set(error["error"]) == set(schema_of(document, schemas["Error"]["properties"]["error"])["required"])


def test_every_route_with_a_body_documents_400_and_415_and_the_body_comes_from_its_model(document):
    from app.api import schemas

    bodies = 0
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if "requestBody" not in operation:
                continue
            bodies += 1
            assert {"400", "415"} <= set(operation["responses"]), (path, method)
            name = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
            model = getattr(schemas, name)
            assert set(document["components"]["schemas"][name]["properties"]) == set(model.model_fields), name
    assert bodies == 8


def test_every_authenticated_route_documents_429_and_every_route_503_with_retry_after(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            codes = {"503"} if operation.get("security") == [] else {"401", "429", "503"}
            assert codes <= set(operation["responses"]), (path, method)
            for code in codes - {"401"}:
                assert "Retry-After" in operation["responses"][code]["headers"], (path, method, code)


def test_the_batch_limit_in_the_document_follows_configuration(app, client):
    app.config["USAGE_BATCH_MAX_EVENTS"] = 250
    document = client.get(f"{API_PREFIX}/openapi.json").get_json()
    assert document["components"]["schemas"]["UsageBatch"]["properties"]["events"]["maxItems"] == 250
    assert "413" in document["paths"]["/usage"]["post"]["responses"]


def test_amount_is_documented_as_the_api_accepts_it(document):
    amount = document["components"]["schemas"]["ReimbursementIn"]["properties"]["amount"]
    assert [branch["type"] for branch in amount["anyOf"]] == ["string", "integer"]
