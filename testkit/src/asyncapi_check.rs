//! Message contracts agree with AsyncAPI: every `Asynchronous/Messages` interaction must be a
//! message the provider's committed `asyncapi.json` documents.
//!
//! The twin of [`crate::spec_check`] for events. An interaction names its channel by the
//! `subject` in its metadata and its `contentType` there too. Its example may leave out any
//! field the consumer does not read (Postel's law), but every field it names, and every field
//! a body matching rule names, must be one the payload schema declares, with the declared type.
//! Schemas are read as JSON Schema 2020-12 with formats checked; local `$ref`s
//! (`#/components/...`) are inlined and `allOf`s merged before anything is checked.

use jsonschema::paths::LocationSegment;
use serde_json::{Map, Value, json};

/// The Pact V4 interaction type of a message contract.
const MESSAGE_INTERACTION: &str = "Asynchronous/Messages";
/// How deep schemas may nest (through `$ref`s and subschemas) before the document is taken
/// as recursive, which this check does not support.
const MAX_DEPTH: usize = 64;

/// Checks every message interaction of `pact` against `asyncapi`; returns one line per
/// disagreement, each starting with the interaction's description. Interactions of other
/// types are left to [`crate::spec_check`].
pub fn message_contract_disagreements(pact: &Value, asyncapi: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for interaction in message_interactions(pact) {
        let description = interaction["description"].as_str().unwrap_or("?");
        problems.extend(
            check_interaction(interaction, asyncapi)
                .into_iter()
                .map(|problem| format!("{description}: {problem}")),
        );
    }
    problems
}

/// The interactions of `pact` of type `Asynchronous/Messages`.
pub fn message_interactions(pact: &Value) -> impl Iterator<Item = &Value> {
    pact["interactions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|interaction| interaction["type"] == MESSAGE_INTERACTION)
}

/// Checks that `asyncapi` agrees with itself: every operation's channel and messages resolve,
/// each message belonging to that channel, and every message example is valid, strictly
/// (required fields included), against the message's payload and headers schemas.
pub fn document_problems(asyncapi: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if asyncapi["asyncapi"] != "3.0.0" {
        problems.push(format!(
            "the document is AsyncAPI {}, not 3.0.0",
            asyncapi["asyncapi"]
        ));
    }
    for (name, operation) in asyncapi["operations"].as_object().into_iter().flatten() {
        if let Err(problem) = check_operation(asyncapi, operation) {
            problems.push(format!("operation {name}: {problem}"));
        }
    }
    for (channel_name, channel) in channels(asyncapi) {
        let messages = match channel.and_then(|channel| channel_messages(asyncapi, channel)) {
            Ok(messages) => messages,
            Err(problem) => {
                problems.push(format!("channel {channel_name}: {problem}"));
                continue;
            }
        };
        for (message_name, message) in messages {
            let examples = message["examples"].as_array().into_iter().flatten();
            for (index, example) in examples.enumerate() {
                let example_name = example["name"]
                    .as_str()
                    .map_or(index.to_string(), Into::into);
                for part in ["payload", "headers"] {
                    if example[part].is_null() {
                        continue;
                    }
                    let result = part_schema(asyncapi, message, part)
                        .map(|schema| validate(&schema, &example[part]));
                    let errors = result.unwrap_or_else(|problem| vec![problem]);
                    problems.extend(errors.into_iter().map(|error| {
                        format!(
                            "channel {channel_name}, message {message_name}, example \
                             {example_name}: {part}: {error}"
                        )
                    }));
                }
            }
        }
    }
    problems
}

/// Checks a message exactly as it was published — its subject, content type, body and headers —
/// against the document, strictly: every required field must be there. Returns one line per
/// problem; empty when some message of the channel at `subject` accepts it.
pub fn published_message_problems(
    asyncapi: &Value,
    subject: &str,
    content_type: &str,
    payload: &Value,
    headers: &Value,
) -> Vec<String> {
    let (_, candidates) = match messages_for(asyncapi, subject, content_type) {
        Ok(found) => found,
        Err(problem) => return vec![problem],
    };
    let mut closest: Option<Vec<String>> = None;
    for (name, message) in candidates {
        let mut problems = Vec::new();
        for (part, value) in [("payload", payload), ("headers", headers)] {
            match part_schema(asyncapi, message, part) {
                Ok(schema) => problems.extend(
                    validate(&schema, value)
                        .into_iter()
                        .map(|e| format!("message {name}: {part}: {e}")),
                ),
                Err(problem) => problems.push(format!("message {name}: {problem}")),
            }
        }
        if problems.is_empty() {
            return problems;
        }
        if closest.as_ref().is_none_or(|c| problems.len() < c.len()) {
            closest = Some(problems);
        }
    }
    closest.unwrap_or_default()
}

/// A message of a channel, with its name there.
type NamedMessage<'a> = (&'a str, &'a Value);

/// The messages of the channel whose address is `subject` that have `content_type` (or the
/// document's default), with the channel's name; a problem in words when there are none.
fn messages_for<'a>(
    asyncapi: &'a Value,
    subject: &str,
    content_type: &str,
) -> Result<(&'a str, Vec<NamedMessage<'a>>), String> {
    let found = channels(asyncapi).find(|(_, channel)| {
        channel
            .as_ref()
            .is_ok_and(|channel| channel["address"] == subject)
    });
    let Some((channel_name, Ok(channel))) = found else {
        return Err(format!("no channel has the address {subject:?}"));
    };
    let messages =
        channel_messages(asyncapi, channel).map_err(|p| format!("channel {channel_name}: {p}"))?;
    let default = asyncapi["defaultContentType"].as_str();
    let candidates: Vec<_> = messages
        .into_iter()
        .filter(|(_, message)| message["contentType"].as_str().or(default) == Some(content_type))
        .collect();
    if candidates.is_empty() {
        return Err(format!(
            "no message of channel {channel_name} ({subject}) has the content type {content_type:?}"
        ));
    }
    Ok((channel_name, candidates))
}

fn check_interaction(interaction: &Value, asyncapi: &Value) -> Vec<String> {
    let metadata = &interaction["metadata"];
    let Some(subject) = metadata["subject"].as_str() else {
        return vec!["its metadata names no subject".to_owned()];
    };
    let Some(content_type) = metadata["contentType"].as_str() else {
        return vec!["its metadata names no contentType".to_owned()];
    };
    let (channel_name, candidates) = match messages_for(asyncapi, subject, content_type) {
        Ok(found) => found,
        Err(problem) => return vec![problem],
    };
    let example = &interaction["contents"]["content"];
    if example.is_null() {
        return vec!["it has no example (contents.content)".to_owned()];
    }
    let rules: Vec<&str> = interaction["matchingRules"]["body"]
        .as_object()
        .into_iter()
        .flat_map(Map::keys)
        .map(String::as_str)
        .collect();
    // The interaction agrees if it fits any message of the channel; when it fits none, the
    // closest message's problems are the useful ones.
    candidates
        .into_iter()
        .map(|(name, message)| {
            let problems = message_problems(asyncapi, message, example, &rules);
            problems
                .into_iter()
                .map(|problem| format!("message {name} of channel {channel_name}: {problem}"))
                .collect::<Vec<_>>()
        })
        .min_by_key(Vec::len)
        .unwrap_or_default()
}

/// What `example` and the matching-rule paths `rules` get wrong about `message`'s payload.
fn message_problems(
    asyncapi: &Value,
    message: &Value,
    example: &Value,
    rules: &[&str],
) -> Vec<String> {
    let schema = match part_schema(asyncapi, message, "payload") {
        Ok(schema) => schema,
        Err(problem) => return vec![problem],
    };
    let mut problems: Vec<String> = validate(&consumer_view(&schema), example)
        .into_iter()
        .map(|error| format!("example: {error}"))
        .collect();
    for rule in rules {
        if let Err(problem) = parse_path(rule).and_then(|path| declared(&schema, &path, "$")) {
            problems.push(format!("matching rule {rule}: {problem}"));
        }
    }
    problems
}

fn check_operation(asyncapi: &Value, operation: &Value) -> Result<(), String> {
    let channel_ref = operation["channel"]["$ref"]
        .as_str()
        .ok_or("its channel is not a $ref")?;
    if !channel_ref.starts_with("#/channels/") {
        return Err(format!("its channel {channel_ref} is not under #/channels"));
    }
    resolve(asyncapi, &operation["channel"])?;
    for message in operation["messages"].as_array().into_iter().flatten() {
        let message_ref = message["$ref"].as_str().ok_or("a message is not a $ref")?;
        if !message_ref.starts_with(&format!("{channel_ref}/messages/")) {
            return Err(format!(
                "message {message_ref} is not one of its channel's messages"
            ));
        }
        resolve(asyncapi, message)?;
    }
    Ok(())
}

/// Every channel of the document by name, resolved.
fn channels(asyncapi: &Value) -> impl Iterator<Item = (&str, Result<&Value, String>)> {
    asyncapi["channels"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(name, channel)| (name.as_str(), resolve(asyncapi, channel)))
}

/// Every message of a channel by name, resolved.
fn channel_messages<'a>(
    asyncapi: &'a Value,
    channel: &'a Value,
) -> Result<Vec<(&'a str, &'a Value)>, String> {
    let messages = channel["messages"]
        .as_object()
        .filter(|messages| !messages.is_empty())
        .ok_or("documents no message")?;
    messages
        .iter()
        .map(|(name, message)| Ok((name.as_str(), resolve(asyncapi, message)?)))
        .collect()
}

/// A message's `payload` or `headers` schema with every `$ref` inlined and `allOf` merged.
fn part_schema(asyncapi: &Value, message: &Value, part: &str) -> Result<Value, String> {
    let mut schema = &message[part];
    if schema.is_null() {
        return Err(format!("the message documents no {part}"));
    }
    // A Multi Format Schema Object wraps the schema and names its format.
    if let Some(format) = schema["schemaFormat"].as_str() {
        let json_schema = format.starts_with("application/vnd.aai.asyncapi")
            || format.starts_with("application/schema+json");
        if !json_schema {
            return Err(format!(
                "the {part} schema format {format} is not supported"
            ));
        }
        schema = &schema["schema"];
    }
    flatten(asyncapi, schema, 0).map_err(|problem| format!("{part}: {problem}"))
}

/// Follows an object's `$ref`s (siblings ignored, as for channels and messages).
fn resolve<'a>(document: &'a Value, mut value: &'a Value) -> Result<&'a Value, String> {
    for _ in 0..MAX_DEPTH {
        let Some(reference) = value.get("$ref") else {
            return Ok(value);
        };
        value = lookup(document, reference)?;
    }
    Err("$refs nest too deep".to_owned())
}

fn lookup<'a>(document: &'a Value, reference: &Value) -> Result<&'a Value, String> {
    let reference = reference.as_str().ok_or("a $ref is not a string")?;
    reference
        .strip_prefix('#')
        .and_then(|pointer| document.pointer(pointer))
        .ok_or_else(|| format!("cannot resolve $ref {reference} within the document"))
}

/// `schema` with every local `$ref` inlined and every `allOf` merged into one schema, so that
/// properties declared in any part are properties of the whole.
fn flatten(document: &Value, schema: &Value, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("the schema nests too deep (is it recursive?)".to_owned());
    }
    let Value::Object(map) = schema else {
        return Ok(schema.clone());
    };
    let deeper = |value: &Value| flatten(document, value, depth + 1);
    let mut base = Map::new();
    let mut parts = Vec::new();
    for (key, value) in map {
        let flattened = match key.as_str() {
            "$ref" => {
                parts.push(deeper(lookup(document, value)?)?);
                continue;
            }
            "allOf" => {
                for part in value.as_array().ok_or("allOf is not an array")? {
                    parts.push(deeper(part)?);
                }
                continue;
            }
            "properties" | "patternProperties" => Value::Object(
                value
                    .as_object()
                    .ok_or_else(|| format!("{key} is not an object"))?
                    .iter()
                    .map(|(name, schema)| Ok((name.clone(), deeper(schema)?)))
                    .collect::<Result<_, String>>()?,
            ),
            "anyOf" | "oneOf" | "prefixItems" => Value::Array(
                value
                    .as_array()
                    .ok_or_else(|| format!("{key} is not an array"))?
                    .iter()
                    .map(deeper)
                    .collect::<Result<_, String>>()?,
            ),
            "items" | "additionalProperties" | "contains" | "not" | "if" | "then" | "else" => {
                deeper(value)?
            }
            _ => value.clone(),
        };
        base.insert(key.clone(), flattened);
    }
    let mut merged = Value::Object(base);
    for part in parts {
        merge(&mut merged, part);
    }
    Ok(merged)
}

/// Merges schema `from` into `into` so that the result means both (as `allOf` would).
fn merge(into: &mut Value, from: Value) {
    match (&mut *into, from) {
        (_, Value::Bool(true)) | (Value::Bool(false), _) => {}
        (Value::Bool(true), from) => *into = from,
        (_, Value::Bool(false)) => *into = Value::Bool(false),
        (Value::Object(into_map), Value::Object(from_map)) => {
            let mut conflicts = Vec::new();
            for (key, value) in from_map {
                let Some(existing) = into_map.get_mut(&key) else {
                    into_map.insert(key, value);
                    continue;
                };
                if *existing == value {
                    continue;
                }
                match key.as_str() {
                    "properties" => {
                        let (Some(existing), Value::Object(value)) =
                            (existing.as_object_mut(), value)
                        else {
                            continue;
                        };
                        for (name, schema) in value {
                            match existing.get_mut(&name) {
                                Some(known) => merge(known, schema),
                                None => {
                                    existing.insert(name, schema);
                                }
                            }
                        }
                    }
                    "items" | "additionalProperties" => merge(existing, value),
                    "required" => {
                        let (Some(existing), Value::Array(value)) =
                            (existing.as_array_mut(), value)
                        else {
                            continue;
                        };
                        for name in value {
                            if !existing.contains(&name) {
                                existing.push(name);
                            }
                        }
                    }
                    "type" => match intersect_types(existing, &value) {
                        Some(types) => *existing = types,
                        None => conflicts.push(json!({ key: value })),
                    },
                    "allOf" => conflicts.extend(value.as_array().into_iter().flatten().cloned()),
                    // Annotations: the first one (the more specific schema's) stands.
                    "description" | "title" | "examples" | "example" | "default" | "$comment" => {}
                    _ => conflicts.push(json!({ key: value })),
                }
            }
            // Keywords both sides constrain differently must both hold; neither of them is
            // `properties`, so the consumer view's closing of objects is not affected.
            if !conflicts.is_empty() {
                let all_of = into_map
                    .entry("allOf")
                    .or_insert_with(|| Value::Array(Vec::new()));
                if let Value::Array(all_of) = all_of {
                    all_of.extend(conflicts);
                }
            }
        }
        (_, from) => *into = json!({ "allOf": [into.take(), from] }),
    }
}

/// The JSON types both `a` and `b` allow (`integer` is a `number`); `None` when none.
fn intersect_types(a: &Value, b: &Value) -> Option<Value> {
    fn types(value: &Value) -> Vec<&str> {
        match value {
            Value::String(name) => vec![name.as_str()],
            Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
    let (a, b) = (types(a), types(b));
    let allows = |types: &[&str], name: &str| {
        types.contains(&name) || (name == "integer" && types.contains(&"number"))
    };
    let common: Vec<&str> = a
        .iter()
        .chain(&b)
        .copied()
        .filter(|name| allows(&a, name) && allows(&b, name))
        .fold(Vec::new(), |mut common, name| {
            if !common.contains(&name) {
                common.push(name);
            }
            common
        });
    match common.as_slice() {
        [] => None,
        [single] => Some(Value::from(*single)),
        several => Some(Value::from(several.to_vec())),
    }
}

/// The schema as a consumer may read a message: it may leave out any field (Postel's law: a
/// contract names only what the consumer uses), but every field it names must be one the
/// schema declares, with the declared type.
fn consumer_view(schema: &Value) -> Value {
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
    let mut view = schema.clone();
    relax(&mut view);
    view
}

/// Validates `instance` against a flattened `schema`; one line per error.
fn validate(schema: &Value, instance: &Value) -> Vec<String> {
    let wrapper = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "allOf": [schema],
    });
    let validator = match jsonschema::options()
        .should_validate_formats(true)
        .build(&wrapper)
    {
        Ok(validator) => validator,
        Err(error) => return vec![format!("bad schema: {error}")],
    };
    validator
        .iter_errors(instance)
        .map(|error| {
            let mut at = String::from("$");
            for segment in error.instance_path().segments() {
                match segment {
                    LocationSegment::Property(name) => at.push_str(&format!(".{name}")),
                    LocationSegment::Index(index) => at.push_str(&format!("[{index}]")),
                }
            }
            format!("{error} at {at}")
        })
        .collect()
}

/// One step of a matching rule's path.
#[derive(Debug, PartialEq)]
enum Step {
    /// `.name` or `['name']`.
    Field(String),
    /// `[3]`.
    Index(usize),
    /// `.*` or `[*]`.
    Any,
}

/// Parses a Pact matching-rule path such as `$.data.items[*].name`.
fn parse_path(path: &str) -> Result<Vec<Step>, String> {
    let not_a_path = || format!("{path:?} is not a path Pact writes");
    let mut rest = path.strip_prefix('$').ok_or_else(not_a_path)?;
    let mut steps = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            let step = match &after[..end] {
                "" => return Err(not_a_path()),
                "*" => Step::Any,
                name => Step::Field(name.to_owned()),
            };
            steps.push(step);
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').ok_or_else(not_a_path)?;
            let inner = &after[..end];
            let quoted = inner
                .strip_prefix('\'')
                .and_then(|name| name.strip_suffix('\''));
            let step = match (inner, quoted, inner.parse::<usize>()) {
                ("*", _, _) => Step::Any,
                (_, Some(name), _) => Step::Field(name.to_owned()),
                (_, _, Ok(index)) => Step::Index(index),
                _ => return Err(not_a_path()),
            };
            steps.push(step);
            rest = &after[end + 1..];
        } else {
            return Err(not_a_path());
        }
    }
    Ok(steps)
}

/// Whether a flattened `schema` declares `path`; `walked` is the part of the path read so far.
fn declared(schema: &Value, path: &[Step], walked: &str) -> Result<(), String> {
    let Some((step, rest)) = path.split_first() else {
        return Ok(());
    };
    let here = match step {
        Step::Field(name) => format!("{walked}.{name}"),
        Step::Index(index) => format!("{walked}[{index}]"),
        Step::Any => format!("{walked}[*]"),
    };
    let children = children(schema, step);
    if children.is_empty() {
        return Err(format!("the payload schema does not declare {here}"));
    }
    // A path is declared when any of the schemas it may lead to declares the rest of it.
    let mut last = Ok(());
    for child in children {
        last = declared(child, rest, &here);
        if last.is_ok() {
            break;
        }
    }
    last
}

/// The subschemas `step` may lead to from `schema`, looking into `anyOf` and `oneOf`.
fn children<'a>(schema: &'a Value, step: &Step) -> Vec<&'a Value> {
    let mut found: Vec<&Value> = Vec::new();
    let additional = schema["additionalProperties"]
        .as_object()
        .map(|_| &schema["additionalProperties"]);
    match step {
        Step::Field(name) => {
            found.extend(schema["properties"].get(name.as_str()).or(additional));
        }
        Step::Index(index) => {
            found.extend(schema["prefixItems"].get(*index));
            found.extend(schema.get("items").filter(|items| items.is_object()));
        }
        Step::Any => {
            found.extend(
                schema["properties"]
                    .as_object()
                    .into_iter()
                    .flat_map(Map::values),
            );
            found.extend(additional);
            found.extend(schema["prefixItems"].as_array().into_iter().flatten());
            found.extend(schema.get("items").filter(|items| items.is_object()));
        }
    }
    for branch in ["anyOf", "oneOf"] {
        for subschema in schema[branch].as_array().into_iter().flatten() {
            found.extend(children(subschema, step));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const EVENT_ID: &str = "7d1c5a8e-2f3b-4c6d-9e0f-1a2b3c4d5e6f";

    /// A small AsyncAPI 3.0 document shaped like order-service's: an envelope and its data in
    /// separate schemas, the event type fixed by an `allOf`.
    fn document() -> Value {
        json!({
            "asyncapi": "3.0.0",
            "defaultContentType": "application/cloudevents+json",
            "channels": {"ordersCreated": {"address": "orders.created", "messages": {
                "orderCreated": {
                    "payload": {"$ref": "#/components/schemas/OrderCreated"},
                    "examples": [{"name": "one", "payload": {
                        "id": EVENT_ID, "type": "order.created",
                        "data": {"user": {"email": "alice@example.com"}, "total_cents": 4999,
                            "lines": [{"sku": "KB-1"}]}
                    }}]
                }
            }}},
            "operations": {"publishOrderCreated": {
                "action": "send",
                "channel": {"$ref": "#/channels/ordersCreated"},
                "messages": [{"$ref": "#/channels/ordersCreated/messages/orderCreated"}]
            }},
            "components": {"schemas": {
                "Event": {"type": "object", "required": ["id", "type", "data"], "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "type": {"type": "string", "enum": ["order.created", "order.cancelled"]},
                    "data": {"$ref": "#/components/schemas/Data"}
                }},
                "Data": {"type": "object", "required": ["user", "total_cents", "lines"],
                    "properties": {
                        "user": {"type": "object", "required": ["email"],
                            "properties": {"email": {"type": "string", "format": "email"}}},
                        "total_cents": {"type": "integer", "minimum": 0},
                        "lines": {"type": "array", "items": {"type": "object",
                            "properties": {"sku": {"type": "string"}}}}
                    }},
                "OrderCreated": {"allOf": [
                    {"$ref": "#/components/schemas/Event"},
                    {"properties": {"type": {"const": "order.created"}}}
                ]}
            }}
        })
    }

    fn event() -> Value {
        json!({"id": EVENT_ID, "type": "order.created",
            "data": {"user": {"email": "alice@example.com"}, "total_cents": 4999}})
    }

    fn pact(subject: &str, content: Value, rules: &[&str]) -> Value {
        let rules: Map<String, Value> = rules
            .iter()
            .map(|path| ((*path).to_owned(), json!({"matchers": [{"match": "type"}]})))
            .collect();
        json!({"interactions": [{
            "type": "Asynchronous/Messages",
            "description": "an order.created event",
            "contents": {"content": content, "contentType": "application/json"},
            "metadata": {"contentType": "application/cloudevents+json", "subject": subject},
            "matchingRules": {"body": rules}
        }]})
    }

    fn problems_with(content: Value, rules: &[&str]) -> Vec<String> {
        message_contract_disagreements(&pact("orders.created", content, rules), &document())
    }

    #[test]
    fn an_example_naming_documented_fields_passes_even_if_it_names_fewer_of_them() {
        let rules = ["$.id", "$.data.user.email", "$.data.total_cents"];
        let problems = problems_with(event(), &rules);
        assert!(problems.is_empty(), "{problems:?}");
        let fewer = problems_with(json!({"type": "order.created"}), &["$.type"]);
        assert!(fewer.is_empty(), "{fewer:?}");
    }

    #[test]
    fn an_unknown_subject_is_reported() {
        let problems =
            message_contract_disagreements(&pact("orders.shipped", event(), &[]), &document());
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].starts_with("an order.created event: "),
            "{problems:?}"
        );
        assert!(problems[0].contains("orders.shipped"), "{problems:?}");
    }

    #[test]
    fn a_content_type_no_message_of_the_channel_has_is_reported() {
        let mut document = document();
        document["channels"]["ordersCreated"]["messages"]["orderCreated"]["contentType"] =
            json!("application/json");
        let problems =
            message_contract_disagreements(&pact("orders.created", event(), &[]), &document);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("application/cloudevents+json"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_renamed_field_in_the_example_is_reported() {
        let mut renamed = event();
        renamed["data"]["user"] = json!({"mail": "alice@example.com"});
        let problems = problems_with(renamed, &[]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("'mail'") && problems[0].contains("$.data.user"),
            "{problems:?}"
        );
    }

    #[test]
    fn a_field_of_the_wrong_type_in_the_example_is_reported() {
        for wrong in [json!("4999"), json!(49.99)] {
            let mut event = event();
            event["data"]["total_cents"] = wrong.clone();
            let problems = problems_with(event, &["$.data.total_cents"]);
            assert_eq!(problems.len(), 1, "{wrong}: {problems:?}");
            assert!(
                problems[0].contains("integer") && problems[0].contains("$.data.total_cents"),
                "{wrong}: {problems:?}"
            );
        }
    }

    #[test]
    fn a_value_the_schema_forbids_in_the_example_is_reported() {
        let mut wrong_type = event();
        wrong_type["type"] = json!("order.cancelled");
        let problems = problems_with(wrong_type, &[]);
        assert!(
            problems.len() == 1 && problems[0].contains("$.type"),
            "the allOf's const is not checked: {problems:?}"
        );
        let mut not_a_uuid = event();
        not_a_uuid["id"] = json!("42");
        let problems = problems_with(not_a_uuid, &[]);
        assert!(
            problems.len() == 1 && problems[0].contains("$.id"),
            "formats are not checked: {problems:?}"
        );
    }

    #[test]
    fn a_matching_rule_path_the_schema_does_not_declare_is_reported() {
        let problems = problems_with(event(), &["$.data.user.email", "$.data.user.phone"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].contains("matching rule $.data.user.phone")
                && problems[0].contains("does not declare $.data.user.phone"),
            "{problems:?}"
        );
    }

    #[test]
    fn matching_rule_paths_into_arrays_follow_the_items_schema() {
        let declared = problems_with(event(), &["$.data.lines[*].sku", "$.data.lines[0].sku"]);
        assert!(declared.is_empty(), "{declared:?}");
        let undeclared = problems_with(event(), &["$.data.lines[*].price"]);
        assert_eq!(undeclared.len(), 1, "{undeclared:?}");
        assert_eq!(
            parse_path("$['odd key'][2].*"),
            Ok(vec![
                Step::Field("odd key".to_owned()),
                Step::Index(2),
                Step::Any
            ])
        );
        assert!(parse_path("data.user").is_err());
    }

    #[test]
    fn http_interactions_are_left_to_the_openapi_check() {
        let pact = json!({"interactions": [{"type": "Synchronous/HTTP", "description": "get",
            "request": {"method": "GET", "path": "/orders"}}]});
        assert_eq!(message_interactions(&pact).count(), 0);
        assert!(message_contract_disagreements(&pact, &document()).is_empty());
    }

    #[test]
    fn the_small_asyncapi_document_agrees_with_itself_and_a_broken_copy_does_not() {
        let problems = document_problems(&document());
        assert!(problems.is_empty(), "{problems:?}");
        let mut broken = document();
        broken["channels"]["ordersCreated"]["messages"]["orderCreated"]["examples"][0]["payload"]
            ["data"]
            .as_object_mut()
            .expect("data")
            .remove("lines");
        broken["operations"]["publishOrderCreated"]["channel"] =
            json!({"$ref": "#/channels/ordersShipped"});
        let problems = document_problems(&broken);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("\"lines\" is a required property")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("#/channels/ordersShipped")),
            "{problems:?}"
        );
    }

    fn committed(path: &str) -> Value {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path);
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
    }

    #[test]
    fn the_committed_notification_contract_agrees_with_order_service_asyncapi_document() {
        let pact = committed("contracts/notification-service-order-service.json");
        let asyncapi = committed("order-service/asyncapi.json");
        assert_eq!(message_interactions(&pact).count(), 2);
        let problems = message_contract_disagreements(&pact, &asyncapi);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let problems = document_problems(&asyncapi);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        crate::contracts::assert_message_contracts_match_asyncapi(
            "order-service",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../order-service"),
        );
    }

    #[test]
    fn the_committed_contract_with_its_subjects_swapped_disagrees_with_the_asyncapi_document() {
        let mut pact = committed("contracts/notification-service-order-service.json");
        for interaction in pact["interactions"].as_array_mut().expect("interactions") {
            let subject = &mut interaction["metadata"]["subject"];
            *subject = match subject.as_str() {
                Some("orders.created") => json!("orders.cancelled"),
                _ => json!("orders.created"),
            };
        }
        let asyncapi = committed("order-service/asyncapi.json");
        let problems = message_contract_disagreements(&pact, &asyncapi);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems
                .iter()
                .all(|p| p.contains("example") && p.contains("at $.type")),
            "{problems:?}"
        );
    }

    #[test]
    fn the_committed_notification_contract_disagrees_with_an_asyncapi_document_renaming_email() {
        let pact = committed("contracts/notification-service-order-service.json");
        let mut asyncapi = committed("order-service/asyncapi.json");
        let user = &mut asyncapi["components"]["schemas"]["OrderData"]["properties"]["user"];
        let email = user["properties"]
            .as_object_mut()
            .expect("user properties")
            .remove("email")
            .expect("an email property");
        user["properties"]["email_address"] = email;
        let problems = message_contract_disagreements(&pact, &asyncapi);
        for description in ["an order.created event", "an order.cancelled event"] {
            let about: Vec<_> = problems
                .iter()
                .filter(|p| p.starts_with(description))
                .collect();
            assert!(
                about
                    .iter()
                    .any(|p| p.contains("example") && p.contains("'email'"))
                    && about
                        .iter()
                        .any(|p| p.contains("does not declare $.data.user.email")),
                "{description}: {problems:?}"
            );
        }
    }
}
