//! The errors of the OpenAPI document: every error response is
//! `application/problem+json` (`Problem`, docs/errors.md), and each operation lists the
//! errors any request of its kind can meet — a missing key (401), a role without the
//! permission (403), an unknown id in the path (404), a body that is not JSON (400), too
//! large (413) or not JSON at all (415), a bad field (422), the database away (503) —
//! beside those its own annotation names.

use serde_json::{json, Map, Value};
use vafa_core::auth::{Permission, Role};

const PROBLEM_REF: &str = "#/components/schemas/Problem";

fn problem_schema() -> Value {
    json!({
        "type": "object",
        "description": "An error (RFC 9457 problem details). Switch on `code`, which is stable; `title` and `detail` are for people. See docs/errors.md.",
        "required": ["type", "title", "status", "detail", "code"],
        "properties": {
            "type": {"type": "string", "example": "urn:vafa:problem:validation_failed"},
            "title": {"type": "string"},
            "status": {"type": "integer", "format": "int32"},
            "detail": {"type": "string"},
            "code": {"type": "string", "example": "validation_failed"},
            "field": {"type": "string", "description": "The first field at fault: a JSON path, a query parameter, `path`, or `body`."},
            "errors": {
                "type": "array",
                "description": "Every field at fault (validation errors).",
                "items": {
                    "type": "object",
                    "required": ["field", "message"],
                    "properties": {"field": {"type": "string"}, "message": {"type": "string"}}
                }
            }
        }
    })
}

fn common_description(status: &str) -> &'static str {
    match status {
        "400" => "The body is not JSON (malformed_json), or the request is otherwise unreadable",
        "401" => "No API key or session, or it is unknown or revoked",
        "403" => "The role lacks the permission this operation needs",
        "404" => "No such resource in this program",
        "409" => "The request conflicts with the resource's state",
        "413" => "The body is larger than the limit",
        "415" => "The body is not of the media type this operation reads",
        "422" => "A field of the body or query is missing, unknown or invalid (validation_failed, naming the field), or the request is refused by a rule",
        "429" => "Too many attempts; wait and retry",
        "503" => "The database is not reachable, or a concurrent request held what this one needed; nothing was written, retry",
        _ => "An error",
    }
}

/// Add the `Problem` schema and the error responses to a document built by utoipa.
pub fn document(doc: &mut Value) {
    if let Some(components) = doc
        .as_object_mut()
        .map(|d| d.entry("components").or_insert_with(|| json!({})))
        .and_then(Value::as_object_mut)
    {
        let schemas = components.entry("schemas").or_insert_with(|| json!({}));
        if let Some(s) = schemas.as_object_mut() {
            s.insert("Problem".into(), problem_schema());
        }
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (method, op) in item.iter_mut() {
            if !matches!(method.as_str(), "get" | "put" | "post" | "delete" | "patch") {
                continue;
            }
            document_operation(path, op);
        }
    }
}

fn document_operation(path: &str, op: &mut Value) {
    let permission = op
        .get("security")
        .and_then(Value::as_array)
        .and_then(|reqs| {
            reqs.iter()
                .filter_map(Value::as_object)
                .flat_map(|r| r.values())
                .filter_map(Value::as_array)
                .flatten()
                .find_map(Value::as_str)
                .map(str::to_owned)
        });
    let body = op.get("requestBody").cloned();
    let has_query = op
        .get("parameters")
        .and_then(Value::as_array)
        .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
    let mut add: Vec<&str> = Vec::new();
    if permission.is_some() {
        add.push("401");
        // A 403 only where some role lacks the permission.
        let everyone = permission
            .as_deref()
            .and_then(|p| p.parse::<Permission>().ok())
            .is_some_and(|p| Role::ALL.iter().all(|r| r.allows(p)));
        if !everyone {
            add.push("403");
        }
    }
    if path.contains('{') {
        add.push("404");
    }
    if let Some(body) = &body {
        let json_body = body["content"]
            .as_object()
            .is_some_and(|c| c.keys().any(|k| k.contains("json")));
        add.extend(["413", "415"]);
        if json_body {
            add.extend(["400", "422"]);
        }
    }
    if has_query || path.contains('{') {
        // A bad query parameter, or a NUL in a path id.
        add.push("422");
    }
    if path.starts_with("/api/") {
        add.push("503");
    }
    let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
        return;
    };
    for status in add {
        responses
            .entry(status)
            .or_insert_with(|| json!({"description": common_description(status)}));
    }
    for (status, response) in responses.iter_mut() {
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        let Some(r) = response.as_object_mut() else {
            continue;
        };
        if r.get("description")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            r.insert(
                "description".into(),
                Value::String(common_description(status).into()),
            );
        }
        let content = r
            .entry("content")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(c) = content.as_object_mut() {
            c.insert(
                "application/problem+json".into(),
                json!({"schema": {"$ref": PROBLEM_REF}}),
            );
        }
    }
}
