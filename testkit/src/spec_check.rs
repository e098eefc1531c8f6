//! Contracts agree with OpenAPI: every interaction's method, path, status, request body and
//! response body must be valid against the provider's committed `openapi.json`.
//!
//! This catches a provider spec that lies: a contract verified against the running provider
//! but not described by the spec means the spec is wrong (or the contract relies on
//! something the provider never promised).

use serde_json::{Value, json};

/// Checks every interaction of `pact` against `openapi`; returns one line per disagreement.
pub fn contract_disagreements(pact: &Value, openapi: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for interaction in pact["interactions"].as_array().into_iter().flatten() {
        let description = interaction["description"].as_str().unwrap_or("?");
        if let Err(problem) = check_interaction(interaction, openapi) {
            problems.push(format!("{description}: {problem}"));
        }
    }
    problems
}

fn check_interaction(interaction: &Value, openapi: &Value) -> Result<(), String> {
    let request = &interaction["request"];
    let method = request["method"].as_str().unwrap_or("GET").to_lowercase();
    let path = request["path"].as_str().ok_or("the request has no path")?;
    let (template, operation) = find_operation(openapi, &method, path)
        .ok_or_else(|| format!("{} {path} is not in the spec", method.to_uppercase()))?;
    if let Some(body) = body_content(request) {
        let schema = &operation["requestBody"]["content"]["application/json"]["schema"];
        if schema.is_null() {
            return Err(format!("{template} documents no JSON request body"));
        }
        validate(openapi, schema, body).map_err(|e| format!("request body: {e}"))?;
    }
    let response = &interaction["response"];
    let status = response["status"]
        .as_u64()
        .ok_or("the response has no status")?;
    let documented = &operation["responses"][status.to_string()];
    if documented.is_null() {
        return Err(format!(
            "{} {template} documents no {status} response",
            method.to_uppercase()
        ));
    }
    if let Some(body) = body_content(response) {
        let schema = &documented["content"]["application/json"]["schema"];
        if schema.is_null() {
            return Err(format!(
                "the {status} response of {template} documents no JSON body"
            ));
        }
        validate(&consumer_view(openapi), schema, body)
            .map_err(|e| format!("{status} response body: {e}"))?;
    }
    Ok(())
}

/// The operation serving `method path`, and its path template.
fn find_operation<'a>(
    openapi: &'a Value,
    method: &str,
    path: &str,
) -> Option<(&'a str, &'a Value)> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    openapi["paths"]
        .as_object()?
        .iter()
        .find_map(|(template, item)| {
            let parts: Vec<&str> = template.trim_matches('/').split('/').collect();
            let matches = parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(t, s)| {
                    (t.starts_with('{') && t.ends_with('}') && !s.is_empty()) || t == s
                });
            let operation = &item[method];
            (matches && !operation.is_null()).then_some((template.as_str(), operation))
        })
}

/// The spec as a consumer may read a response: it may leave out any field (Postel's law:
/// a contract names only what the consumer uses), but every field it names must be one the
/// spec documents, with the documented type.
fn consumer_view(openapi: &Value) -> Value {
    fn relax(value: &mut Value) {
        match value {
            Value::Object(map) => {
                if map.contains_key("properties") {
                    map.remove("required");
                    map.entry("additionalProperties")
                        .or_insert(Value::Bool(false));
                }
                map.values_mut().for_each(relax);
            }
            Value::Array(items) => items.iter_mut().for_each(relax),
            _ => {}
        }
    }
    let mut view = openapi.clone();
    relax(&mut view["components"]);
    view
}

fn body_content(part: &Value) -> Option<&Value> {
    let body = &part["body"]["content"];
    (!body.is_null()).then_some(body)
}

/// Validates `instance` against `schema`, resolving `#/components/...` in the spec.
fn validate(openapi: &Value, schema: &Value, instance: &Value) -> Result<(), String> {
    let wrapper = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": openapi["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::validator_for(&wrapper).map_err(|e| format!("bad schema: {e}"))?;
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> Value {
        json!({
            "openapi": "3.1.0",
            "paths": {"/users/{id}": {"get": {"responses": {
                "200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/User"}}}}
            }}}},
            "components": {"schemas": {"User": {
                "type": "object", "required": ["id", "name"],
                "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}
            }}}
        })
    }

    fn pact(status: u16, path: &str, body: Value) -> Value {
        json!({"interactions": [{"description": "d",
            "request": {"method": "GET", "path": path},
            "response": {"status": status, "body": {"content": body}}}]})
    }

    #[test]
    fn an_interaction_the_spec_describes_passes_even_if_it_names_fewer_fields() {
        let problems = contract_disagreements(
            &pact(200, "/users/1", json!({"id": 1, "name": "A"})),
            &spec(),
        );
        assert!(problems.is_empty(), "{problems:?}");
        let subset = contract_disagreements(&pact(200, "/users/1", json!({"id": 1})), &spec());
        assert!(subset.is_empty(), "{subset:?}");
    }

    #[test]
    fn undocumented_paths_statuses_and_body_shapes_are_reported() {
        let spec = spec();
        assert_eq!(
            contract_disagreements(&pact(200, "/people/1", json!({})), &spec).len(),
            1
        );
        assert_eq!(
            contract_disagreements(&pact(404, "/users/1", json!({})), &spec).len(),
            1
        );
        let wrong_type = contract_disagreements(
            &pact(200, "/users/1", json!({"id": "1", "name": "A"})),
            &spec,
        );
        assert!(wrong_type[0].contains("response body"), "{wrong_type:?}");
        let unknown =
            contract_disagreements(&pact(200, "/users/1", json!({"id": 1, "nick": "A"})), &spec);
        assert_eq!(
            unknown.len(),
            1,
            "a field the spec does not document is reported"
        );
    }
}
