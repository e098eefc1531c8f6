//! Provider-side contract verification: every committed contract naming a provider is
//! verified against the running provider, and a run that verifies nothing fails.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pact_verifier::callback_executors::ProviderStateExecutor;
use pact_verifier::verification_result::VerificationExecutionResult;
use pact_verifier::{
    FilterInfo, NullRequestFilterExecutor, PactSource, ProviderInfo, ProviderTransport,
    VerificationOptions, verify_provider_async,
};
use serde_json::Value;

/// Where the contracts live, from a service's manifest folder: `<workspace>/contracts`.
pub fn contracts_dir(manifest_dir: &str) -> PathBuf {
    Path::new(manifest_dir).join("../contracts")
}

/// Every contract file in `dir` whose provider is `provider`, sorted by name.
///
/// Files are selected by the provider name *inside* the file, not by file name, and each is
/// verified as its own source (`PactSource::File`): a folder source would pass with zero
/// interactions when nothing matches.
pub fn contracts_for(dir: &Path, provider: &str) -> Vec<(PathBuf, Value)> {
    let mut found = Vec::new();
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("a folder entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read a contract");
        let pact: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not a JSON contract: {e}", path.display()));
        if pact["provider"]["name"] == provider {
            found.push((path, pact));
        }
    }
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

/// Number of interactions in a contract.
pub fn interaction_count(pact: &Value) -> usize {
    pact["interactions"].as_array().map_or(0, Vec::len)
}

/// Verifies one pact source against the provider listening on `port` of 127.0.0.1.
pub async fn verify<S: ProviderStateExecutor + Send + Sync + 'static>(
    provider: &str,
    port: u16,
    source: PactSource,
    states: &Arc<S>,
) -> VerificationExecutionResult {
    verify_over(provider, "http", port, None, source, states).await
}

/// Verifies one pact source of asynchronous messages against the provider's message endpoint
/// at `http://127.0.0.1:<port><path>`: the verifier POSTs each interaction's description and
/// provider states there, and compares what comes back (body, and the metadata in the
/// base64 JSON header `Pact-Message-Metadata`) with the expected message.
pub async fn verify_messages<S: ProviderStateExecutor + Send + Sync + 'static>(
    provider: &str,
    port: u16,
    path: &str,
    source: PactSource,
    states: &Arc<S>,
) -> VerificationExecutionResult {
    verify_over(provider, "message", port, Some(path), source, states).await
}

/// Runs the verifier over one transport (`http` or `message`) of the provider on 127.0.0.1.
async fn verify_over<S: ProviderStateExecutor + Send + Sync + 'static>(
    provider: &str,
    transport: &str,
    port: u16,
    path: Option<&str>,
    source: PactSource,
    states: &Arc<S>,
) -> VerificationExecutionResult {
    crate::install_crypto_provider();
    let info = ProviderInfo {
        name: provider.to_owned(),
        host: "127.0.0.1".to_owned(),
        transports: vec![ProviderTransport {
            transport: transport.to_owned(),
            port: Some(port),
            path: path.map(str::to_owned),
            scheme: Some("http".to_owned()),
        }],
        ..ProviderInfo::default()
    };
    let options = VerificationOptions::<NullRequestFilterExecutor> {
        coloured_output: false,
        no_pacts_is_error: true,
        ..VerificationOptions::default()
    };
    verify_provider_async(
        info,
        vec![source],
        FilterInfo::None,
        vec![],
        &options,
        None,
        states,
        None,
    )
    .await
    .expect("the verifier ran")
}

/// Verifies every committed contract naming `provider` whose interactions are asynchronous
/// messages against the message endpoint on `port` and `path`, writes a report per contract,
/// and fails unless each verified all of its interactions. Fails if there is none.
pub async fn verify_all_committed_messages<S: ProviderStateExecutor + Send + Sync + 'static>(
    provider: &str,
    manifest_dir: &str,
    port: u16,
    path: &str,
    states: &Arc<S>,
) -> usize {
    let pacts: Vec<_> = contracts_for(&contracts_dir(manifest_dir), provider)
        .into_iter()
        .filter(|(_, pact)| has_messages(pact))
        .collect();
    assert!(!pacts.is_empty(), "no message contract names {provider}");
    let mut verified = 0;
    for (path_of_pact, pact) in pacts {
        let source = PactSource::File(path_of_pact.display().to_string());
        let result = verify_messages(provider, port, path, source, states).await;
        let consumer = pact["consumer"]["name"].as_str().unwrap_or("unknown");
        write_report(manifest_dir, &format!("{consumer}-{provider}"), &result);
        let expected = interaction_count(&pact);
        assert_verified(&result, expected, &path_of_pact.display().to_string());
        verified += expected;
    }
    verified
}

/// True if the contract holds asynchronous-message interactions.
pub fn has_messages(pact: &Value) -> bool {
    pact["interactions"].as_array().is_some_and(|interactions| {
        interactions
            .iter()
            .any(|i| i["type"] == "Asynchronous/Messages")
    })
}

/// Asserts a verification passed and verified exactly `expected` interactions.
pub fn assert_verified(result: &VerificationExecutionResult, expected: usize, what: &str) {
    let failures: Vec<String> = result
        .errors
        .iter()
        .map(|(interaction, mismatch)| format!("- {interaction}: {mismatch:?}"))
        .collect();
    assert!(
        result.result && failures.is_empty(),
        "contract verification of {what} failed:\n{}\n{}",
        failures.join("\n"),
        result.output.join("\n")
    );
    let verified = result
        .interaction_results
        .iter()
        .filter(|r| r.result.is_ok())
        .count();
    assert!(
        expected > 0,
        "{what} has no interactions: a contract that verifies nothing proves nothing"
    );
    assert_eq!(
        verified, expected,
        "{what}: {verified} of {expected} interactions verified"
    );
}

/// Writes the verification report as JSON to `<workspace>/target/contract-reports/<name>.json`.
pub fn write_report(
    manifest_dir: &str,
    name: &str,
    result: &VerificationExecutionResult,
) -> PathBuf {
    let dir = Path::new(manifest_dir).join("../target/contract-reports");
    std::fs::create_dir_all(&dir).expect("create the report folder");
    let path = dir.join(format!("{name}.json"));
    let report: Value = result.into();
    std::fs::write(
        &path,
        serde_json::to_string_pretty(&report).expect("serialise the report"),
    )
    .expect("write the report");
    path
}

/// Ways to break a copy of a contract; verifying the copy must then fail.
#[derive(Debug, Clone, Copy)]
pub enum Breakage {
    /// The first response field the contract expects is renamed.
    RenamedResponseField,
    /// The first response field's expected value changes type (a string becomes a number and
    /// any other value becomes a string), and the field is matched by type.
    ChangedFieldType,
    /// The expected status code changes.
    ChangedStatus,
}

/// A copy of `pact` holding only interaction `index`, broken as `breakage` says.
pub fn broken_copy(pact: &Value, index: usize, breakage: Breakage) -> Value {
    let mut copy = pact.clone();
    let interaction = copy["interactions"][index].clone();
    copy["interactions"] = Value::Array(vec![interaction]);
    let response = &mut copy["interactions"][0]["response"];
    match breakage {
        Breakage::ChangedStatus => {
            let status = response["status"].as_u64().expect("a status");
            response["status"] = Value::from(if status == 200 { 201 } else { 200 });
        }
        Breakage::RenamedResponseField | Breakage::ChangedFieldType => {
            let body = response["body"]["content"]
                .as_object_mut()
                .expect("a JSON object response body");
            let key = body.keys().next().expect("a response field").clone();
            let value = body.remove(&key).expect("the field");
            if let Breakage::RenamedResponseField = breakage {
                body.insert(format!("{key}_renamed"), value);
            } else {
                let changed = if value.is_string() {
                    Value::from(12345)
                } else {
                    Value::from(value.to_string())
                };
                body.insert(key.clone(), changed);
                // A regex matcher would still accept the provider's value: expect the type.
                response["matchingRules"]["body"][format!("$.{key}")] =
                    serde_json::json!({"combine": "AND", "matchers": [{"match": "type"}]});
            }
        }
    }
    copy
}

/// Provider-state parameters as a map, for [`ProviderStateExecutor`] implementations.
pub type StateParams = HashMap<String, Value>;

/// Asserts that a verification failed because the provider's response did not match, not
/// because something else went wrong (a provider state that could not be set up, say).
pub fn assert_caught_as_mismatch(result: &VerificationExecutionResult, what: &str) {
    use pact_verifier::verification_result::VerificationMismatchResult;
    assert!(!result.result, "{what} was not caught: verification passed");
    assert!(!result.errors.is_empty(), "{what}: failed without an error");
    for (interaction, error) in &result.errors {
        assert!(
            matches!(error, VerificationMismatchResult::Mismatches { mismatches, .. } if !mismatches.is_empty()),
            "{what}: {interaction} failed for another reason: {error:?}"
        );
    }
}

/// Verifies every contract in `<manifest_dir>/../contracts` naming `provider` against the
/// provider on `port`, writes a report per contract, and fails unless each one verified all
/// of its interactions. Fails if no contract names the provider.
pub async fn verify_all_committed<S: ProviderStateExecutor + Send + Sync + 'static>(
    provider: &str,
    manifest_dir: &str,
    port: u16,
    states: &Arc<S>,
) {
    let dir = contracts_dir(manifest_dir);
    let pacts = contracts_for(&dir, provider);
    assert!(
        !pacts.is_empty(),
        "no contract in {} names {provider}",
        dir.display()
    );
    for (path, pact) in pacts {
        let source = PactSource::File(path.display().to_string());
        let result = verify(provider, port, source, states).await;
        let consumer = pact["consumer"]["name"].as_str().unwrap_or("unknown");
        write_report(manifest_dir, &format!("{consumer}-{provider}"), &result);
        assert_verified(
            &result,
            interaction_count(&pact),
            &path.display().to_string(),
        );
    }
}

/// Breaks every interaction of every contract naming `provider` in each [`Breakage`] way and
/// asserts each broken copy fails as a mismatch. `fresh` gives a provider (its port and its
/// provider-state executor) with a database of its own for each attempt, so that no attempt
/// sees the state an earlier one left. Returns how many breakages were caught.
pub async fn assert_breakages_caught<S, F, Fut>(
    provider: &str,
    manifest_dir: &str,
    fresh: F,
) -> usize
where
    S: ProviderStateExecutor + Send + Sync + 'static,
    F: Fn() -> Fut,
    Fut: Future<Output = (u16, Arc<S>)>,
{
    let mut caught = 0;
    for (_, pact) in contracts_for(&contracts_dir(manifest_dir), provider) {
        for index in 0..interaction_count(&pact) {
            for breakage in [
                Breakage::RenamedResponseField,
                Breakage::ChangedFieldType,
                Breakage::ChangedStatus,
            ] {
                let (port, states) = fresh().await;
                let broken = broken_copy(&pact, index, breakage);
                let result = verify(
                    provider,
                    port,
                    PactSource::String(broken.to_string()),
                    &states,
                )
                .await;
                let description = &broken["interactions"][0]["description"];
                assert_caught_as_mismatch(&result, &format!("{breakage:?} of {description}"));
                caught += 1;
            }
        }
    }
    caught
}

/// Asserts every interaction of every contract naming `provider` is valid against the
/// provider's committed `<manifest_dir>/openapi.json`.
pub fn assert_contracts_match_openapi(provider: &str, manifest_dir: &str) {
    let spec_path = Path::new(manifest_dir).join("openapi.json");
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(&spec_path).expect("read openapi.json"))
            .expect("openapi.json is JSON");
    let pacts = contracts_for(&contracts_dir(manifest_dir), provider);
    assert!(!pacts.is_empty(), "no contract names {provider}");
    for (path, pact) in pacts {
        let problems = crate::spec_check::contract_disagreements(&pact, &spec);
        assert!(
            problems.is_empty(),
            "{} disagrees with {}:\n{}",
            path.display(),
            spec_path.display(),
            problems.join("\n")
        );
    }
}

/// Asserts every message interaction of every contract naming `provider` is a message the
/// provider's committed `<manifest_dir>/asyncapi.json` documents, and that the document agrees
/// with itself (its examples are valid against its schemas). Fails if no contract naming
/// `provider` holds a message interaction.
pub fn assert_message_contracts_match_asyncapi(provider: &str, manifest_dir: &str) {
    use crate::asyncapi_check::{
        document_problems, message_contract_disagreements, message_interactions,
    };

    let spec_path = Path::new(manifest_dir).join("asyncapi.json");
    let text = std::fs::read_to_string(&spec_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", spec_path.display()));
    let spec: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", spec_path.display()));
    let problems = document_problems(&spec);
    assert!(
        problems.is_empty(),
        "{} disagrees with itself:\n{}",
        spec_path.display(),
        problems.join("\n")
    );
    let pacts: Vec<_> = contracts_for(&contracts_dir(manifest_dir), provider)
        .into_iter()
        .filter(|(_, pact)| message_interactions(pact).next().is_some())
        .collect();
    assert!(
        !pacts.is_empty(),
        "no contract naming {provider} holds a message interaction"
    );
    for (path, pact) in pacts {
        let problems = message_contract_disagreements(&pact, &spec);
        assert!(
            problems.is_empty(),
            "{} disagrees with {}:\n{}",
            path.display(),
            spec_path.display(),
            problems.join("\n")
        );
    }
}

#[cfg(test)]
mod tests {
    use pact_verifier::callback_executors::HttpRequestProviderStateExecutor;
    use serde_json::json;

    use super::*;

    #[tokio::test]
    #[should_panic(expected = "names user-service")]
    async fn verification_fails_when_no_contract_names_the_provider() {
        let root = std::env::temp_dir().join(format!("testkit-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join("service")).expect("a service folder");
        std::fs::create_dir_all(root.join("contracts")).expect("a contracts folder");
        let other =
            json!({"consumer": {"name": "a"}, "provider": {"name": "other"}, "interactions": []});
        std::fs::write(root.join("contracts/a-other.json"), other.to_string()).expect("a contract");
        let states = Arc::new(HttpRequestProviderStateExecutor::default());
        let manifest = root.join("service");
        verify_all_committed(
            "user-service",
            manifest.to_str().expect("UTF-8"),
            1,
            &states,
        )
        .await;
    }

    #[test]
    #[should_panic(expected = "no contract naming order-service holds a message interaction")]
    fn the_asyncapi_check_fails_when_no_contract_of_the_provider_holds_a_message() {
        let root = std::env::temp_dir().join(format!("testkit-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(root.join("order-service")).expect("a service folder");
        std::fs::create_dir_all(root.join("contracts")).expect("a contracts folder");
        let asyncapi = json!({"asyncapi": "3.0.0", "channels": {}, "operations": {}});
        std::fs::write(
            root.join("order-service/asyncapi.json"),
            asyncapi.to_string(),
        )
        .expect("a document");
        let http_only = json!({"consumer": {"name": "a"}, "provider": {"name": "order-service"},
            "interactions": [{"type": "Synchronous/HTTP", "description": "d"}]});
        std::fs::write(
            root.join("contracts/a-order-service.json"),
            http_only.to_string(),
        )
        .expect("a contract");
        let manifest = root.join("order-service");
        assert_message_contracts_match_asyncapi("order-service", manifest.to_str().expect("UTF-8"));
    }

    #[test]
    #[should_panic(expected = "verifies nothing proves nothing")]
    fn a_passing_run_that_verified_zero_interactions_fails() {
        assert_verified(&VerificationExecutionResult::new(), 0, "an empty contract");
    }

    #[test]
    #[should_panic(expected = "1 of 2 interactions verified")]
    fn verifying_fewer_interactions_than_the_contract_holds_fails() {
        let mut result = VerificationExecutionResult::new();
        result.interaction_results.push(ok_result());
        assert_verified(&result, 2, "a contract");
    }

    fn ok_result() -> pact_verifier::verification_result::VerificationInteractionResult {
        pact_verifier::verification_result::VerificationInteractionResult {
            interaction_id: None,
            interaction_key: None,
            consumer: "c".to_owned(),
            provider: "p".to_owned(),
            description: "d".to_owned(),
            interaction_description: "d".to_owned(),
            provider_states: vec![],
            result: Ok(()),
            pending: false,
            duration: std::time::Duration::ZERO,
        }
    }
}
