//! Provider verification: user-service honours every committed contract that names it.
//!
//! Provider states are set in-process through the service's own store layer; the production
//! application has no test-only route.

use std::sync::Arc;

use pact_models::provider_states::ProviderState;
use pact_verifier::PactSource;
use pact_verifier::callback_executors::ProviderStateExecutor;
use serde_json::Value;
use sqlx::PgPool;
use testkit::contracts::{self, Breakage, StateParams};
use user_service::domain::{Email, NewUser, UserId, UserName};
use user_service::store::users::{fetch_user, insert_user_with_id, sync_user_id_sequence};

use crate::helpers::spawn_app;

const PROVIDER: &str = "user-service";

/// Sets up the provider states the consumers' contracts name.
#[derive(Debug)]
struct States {
    pool: PgPool,
}

fn id_param(params: &StateParams, key: &str) -> anyhow::Result<UserId> {
    let raw = params
        .get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| anyhow::anyhow!("state needs an integer `{key}`"))?;
    UserId::parse(raw).map_err(anyhow::Error::msg)
}

fn text_param<'a>(params: &'a StateParams, key: &str) -> anyhow::Result<&'a str> {
    params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("state needs a string `{key}`"))
}

#[async_trait::async_trait]
impl ProviderStateExecutor for States {
    async fn call(
        self: Arc<Self>,
        _interaction_id: Option<String>,
        state: &ProviderState,
        setup: bool,
        _client: Option<&reqwest::Client>,
    ) -> anyhow::Result<std::collections::HashMap<String, Value>> {
        if !setup {
            return Ok(Default::default());
        }
        let params = &state.params;
        match state.name.as_str() {
            "a user exists" => {
                let id = id_param(params, "id")?;
                let user = NewUser {
                    name: UserName::parse(text_param(params, "name")?)
                        .map_err(anyhow::Error::msg)?,
                    email: Email::parse(text_param(params, "email")?)
                        .map_err(anyhow::Error::msg)?,
                };
                insert_user_with_id(&self.pool, id, &user).await?;
                sync_user_id_sequence(&self.pool).await?;
            }
            "no user exists" => {
                let id = id_param(params, "id")?;
                anyhow::ensure!(
                    fetch_user(&self.pool, id).await?.is_none(),
                    "user {} exists",
                    id.get()
                );
            }
            other => anyhow::bail!("unknown provider state {other:?}"),
        }
        Ok(Default::default())
    }

    fn teardown(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn every_committed_contract_naming_user_service_is_verified() {
    let app = spawn_app().await;
    let states = Arc::new(States {
        pool: app.pool.clone(),
    });
    let dir = contracts::contracts_dir(env!("CARGO_MANIFEST_DIR"));
    let pacts = contracts::contracts_for(&dir, PROVIDER);
    assert!(
        !pacts.is_empty(),
        "no contract in {} names {PROVIDER}",
        dir.display()
    );
    for (path, pact) in pacts {
        let source = PactSource::File(path.display().to_string());
        let result = contracts::verify(PROVIDER, app.port(), source, &states).await;
        let consumer = pact["consumer"]["name"].as_str().unwrap_or("unknown");
        contracts::write_report(
            env!("CARGO_MANIFEST_DIR"),
            &format!("{consumer}-{PROVIDER}"),
            &result,
        );
        contracts::assert_verified(
            &result,
            contracts::interaction_count(&pact),
            &path.display().to_string(),
        );
    }
}

#[tokio::test]
async fn contract_verification_fails_when_the_contract_and_provider_disagree() {
    let app = spawn_app().await;
    let states = Arc::new(States {
        pool: app.pool.clone(),
    });
    let dir = contracts::contracts_dir(env!("CARGO_MANIFEST_DIR"));
    let mut caught = 0;
    for (_, pact) in contracts::contracts_for(&dir, PROVIDER) {
        for index in 0..contracts::interaction_count(&pact) {
            for breakage in [
                Breakage::RenamedResponseField,
                Breakage::ChangedFieldType,
                Breakage::ChangedStatus,
            ] {
                let broken = contracts::broken_copy(&pact, index, breakage);
                let source = PactSource::String(broken.to_string());
                let result = contracts::verify(PROVIDER, app.port(), source, &states).await;
                let description = &broken["interactions"][0]["description"];
                contracts::assert_caught_as_mismatch(
                    &result,
                    &format!("{breakage:?} of {description}"),
                );
                caught += 1;
            }
        }
    }
    assert!(caught >= 6, "only {caught} breakages were tried");
}

#[test]
fn every_contract_interaction_is_valid_against_the_committed_openapi_spec() {
    let manifest = env!("CARGO_MANIFEST_DIR");
    let spec_path = std::path::Path::new(manifest).join("openapi.json");
    let spec: Value =
        serde_json::from_str(&std::fs::read_to_string(&spec_path).expect("read openapi.json"))
            .expect("openapi.json is JSON");
    let pacts = contracts::contracts_for(&contracts::contracts_dir(manifest), PROVIDER);
    assert!(!pacts.is_empty(), "no contract names {PROVIDER}");
    for (path, pact) in pacts {
        let problems = testkit::spec_check::contract_disagreements(&pact, &spec);
        assert!(
            problems.is_empty(),
            "{} disagrees with {}:\n{}",
            path.display(),
            spec_path.display(),
            problems.join("\n")
        );
    }
}
