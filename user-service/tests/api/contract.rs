//! Provider verification: user-service honours every committed contract that names it.
//!
//! Provider states are set in-process through the service's own store layer; the production
//! application has no test-only route.

use std::sync::Arc;

use http_plumbing::db::Db;
use pact_models::provider_states::ProviderState;
use pact_verifier::callback_executors::ProviderStateExecutor;
use serde_json::Value;
use testkit::contracts::{self, StateParams};
use user_service::domain::{Email, NewUser, UserId, UserName};
use user_service::store::users::{fetch_user, insert_user_with_id, sync_user_id_sequence};

use crate::helpers::spawn_app;

const PROVIDER: &str = "user-service";

/// Sets up the provider states the consumers' contracts name.
#[derive(Debug)]
struct States {
    db: Db,
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
                insert_user_with_id(&self.db, id, &user).await?;
                sync_user_id_sequence(&self.db).await?;
            }
            "no user exists" => {
                let id = id_param(params, "id")?;
                anyhow::ensure!(
                    fetch_user(&self.db, id).await?.is_none(),
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
        db: Db::connect_lazy(&app.database_url, 2).expect("the test database URL is valid"),
    });
    contracts::verify_all_committed(PROVIDER, env!("CARGO_MANIFEST_DIR"), app.port(), &states)
        .await;
}

#[tokio::test]
async fn contract_verification_fails_when_the_contract_and_provider_disagree() {
    let caught =
        contracts::assert_breakages_caught(PROVIDER, env!("CARGO_MANIFEST_DIR"), || async {
            let app = spawn_app().await;
            let states = Arc::new(States {
                db: Db::connect_lazy(&app.database_url, 2).expect("the test database URL is valid"),
            });
            (app.port(), states)
        })
        .await;
    assert!(caught >= 6, "only {caught} breakages were tried");
}

#[test]
fn every_contract_interaction_is_valid_against_the_committed_openapi_spec() {
    contracts::assert_contracts_match_openapi(PROVIDER, env!("CARGO_MANIFEST_DIR"));
}
