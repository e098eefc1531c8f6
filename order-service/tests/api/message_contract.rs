//! Message-provider verification: order-service honours notification-service's contract for
//! its events (`contracts/notification-service-order-service.json`).
//!
//! Each provider state is set up through the store as a real order would be — the pending
//! saga begun, confirmed (and for a cancellation: cancelling, then released), each statement
//! writing its outbox row — and the message is then built from that outbox row by
//! [`EventMessage::from_outbox`], the code the relay publishes with. The verifier fetches it
//! from a message endpoint of the test's own (the service has no test-only route). Breaking
//! the event the relay would publish (a field renamed, a type changed, a field dropped, the
//! subject changed) must fail verification as a mismatch.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use chrono::{TimeDelta, Utc};
use http_plumbing::db::Db;
use order_service::domain::{OrderRequest, Quantity, ResourceId};
use order_service::events::{CONTENT_TYPE_HEADER, EventKind, EventMessage, ORDERS_SUBJECT_PREFIX};
use order_service::store::orders::{
    Begin, Confirmation, begin_cancel, begin_sagas, confirm_orders, record_release,
};
use order_service::store::outbox;
use pact_models::provider_states::ProviderState;
use pact_verifier::PactSource;
use pact_verifier::callback_executors::ProviderStateExecutor;
use serde_json::Value;
use testkit::contracts::{self, StateParams};
use uuid::Uuid;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::helpers::{TestApp, spawn_app};

const PROVIDER: &str = "order-service";
const MESSAGES_PATH: &str = "/pact-messages";

/// A way the published event could break.
#[derive(Debug, Clone, Copy)]
enum Breakage {
    RenamedField,
    ChangedType,
    DroppedField,
    ChangedSubject,
}

const BREAKAGES: [Breakage; 4] = [
    Breakage::RenamedField,
    Breakage::ChangedType,
    Breakage::DroppedField,
    Breakage::ChangedSubject,
];

impl Breakage {
    fn apply(self, body: &mut Value, subject: &mut String) {
        let data = body["data"].as_object_mut().expect("data");
        match self {
            Self::RenamedField => {
                let user = data["user"].as_object_mut().expect("user");
                let email = user.remove("email").expect("email");
                user.insert("email_address".to_owned(), email);
            }
            Self::ChangedType => {
                let cents = data["total_cents"].as_i64().expect("cents");
                data["total_cents"] = Value::from(format!("{}.{:02}", cents / 100, cents % 100));
            }
            Self::DroppedField => {
                data.remove("quantity");
            }
            Self::ChangedSubject => subject.push_str(".v2"),
        }
    }
}

/// Sets up each provider state through the store and builds the message the relay would
/// publish for it, for the message endpoint to hand out.
#[derive(Debug)]
struct States {
    db: Db,
    message: Arc<Mutex<Option<EventMessage>>>,
}

fn text<'a>(params: &'a StateParams, key: &str) -> anyhow::Result<&'a str> {
    params
        .get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("state needs a string `{key}`"))
}

fn int(params: &StateParams, key: &str) -> anyhow::Result<i64> {
    params
        .get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| anyhow::anyhow!("state needs an integer `{key}`"))
}

impl States {
    /// Places the order the parameters describe, as the saga would; `cancel` cancels it too.
    async fn order(&self, params: &StateParams, cancel: bool) -> anyhow::Result<EventMessage> {
        let id: Uuid = text(params, "order_id")?.parse()?;
        // A state set up earlier in this run (the same example order) is removed first.
        self.db
            .run(async |conn| {
                sqlx::query("DELETE FROM outbox WHERE order_id = $1")
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("DELETE FROM orders WHERE id = $1")
                    .bind(id)
                    .execute(conn)
                    .await
            })
            .await?;
        let quantity = int(params, "quantity")?;
        let unit_price_cents = int(params, "unit_price_cents")?;
        let request = OrderRequest {
            user_id: ResourceId::parse(int(params, "user_id")?, "user_id")
                .map_err(anyhow::Error::msg)?,
            product_id: ResourceId::parse(int(params, "product_id")?, "product_id")
                .map_err(anyhow::Error::msg)?,
            quantity: Quantity::parse(quantity).map_err(anyhow::Error::msg)?,
        };
        let begin = Begin {
            id,
            request,
            deadline: Utc::now() + TimeDelta::seconds(30),
            key: None,
        };
        for begun in begin_sagas(self.db.clone(), vec![begin], TimeDelta::hours(24)).await {
            begun?;
        }
        let confirmation = Confirmation {
            id,
            user_name: text(params, "user_name")?.to_owned(),
            user_email: text(params, "user_email")?.to_owned(),
            product_name: text(params, "product_name")?.to_owned(),
            unit_price_cents,
            total_cents: unit_price_cents * quantity,
            correlation_id: Some("3f2b6c1e-8d4a-4f7b-9a2e-5c1d0e9f8a7b".to_owned()),
        };
        for confirmed in confirm_orders(self.db.clone(), vec![confirmation]).await {
            anyhow::ensure!(confirmed?.is_some(), "order {id} was not confirmed");
        }
        let kind = if cancel {
            begin_cancel(&self.db, id, TimeDelta::seconds(5))
                .await?
                .ok_or_else(|| anyhow::anyhow!("order {id} could not be cancelled"))?;
            record_release(&self.db, id, None).await?;
            EventKind::Cancelled
        } else {
            EventKind::Created
        };
        let event = outbox::events_of_order(&self.db, id)
            .await?
            .into_iter()
            .find(|e| e.event.kind == kind)
            .ok_or_else(|| anyhow::anyhow!("no {} event in the outbox", kind.as_str()))?;
        Ok(EventMessage::from_outbox(
            &event.event,
            ORDERS_SUBJECT_PREFIX,
        ))
    }
}

#[async_trait::async_trait]
impl ProviderStateExecutor for States {
    async fn call(
        self: Arc<Self>,
        _interaction_id: Option<String>,
        state: &ProviderState,
        setup: bool,
        _client: Option<&reqwest::Client>,
    ) -> anyhow::Result<HashMap<String, Value>> {
        if !setup {
            return Ok(HashMap::new());
        }
        let message = match state.name.as_str() {
            "an order was confirmed" => self.order(&state.params, false).await?,
            "an order was cancelled" => self.order(&state.params, true).await?,
            other => anyhow::bail!("unknown provider state {other:?}"),
        };
        *self.message.lock().expect("the message slot") = Some(message);
        Ok(HashMap::new())
    }

    fn teardown(&self) -> bool {
        false
    }
}

/// The message endpoint: the message of the last state set up, broken by `breakage` if any,
/// with its NATS subject and content type as Pact message metadata.
async fn message_endpoint(
    message: Arc<Mutex<Option<EventMessage>>>,
    breakage: Option<Breakage>,
) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(move |_: &Request| {
            let Some(message) = message.lock().expect("the message slot").clone() else {
                return ResponseTemplate::new(500).set_body_string("no provider state was set up");
            };
            let mut body: Value = serde_json::from_slice(&message.payload).expect("JSON");
            let mut subject = message.subject.clone();
            if let Some(breakage) = breakage {
                breakage.apply(&mut body, &mut subject);
            }
            let metadata = serde_json::json!({
                "contentType": message.header(CONTENT_TYPE_HEADER),
                "subject": subject,
            });
            ResponseTemplate::new(200)
                .insert_header(
                    "Pact-Message-Metadata",
                    base64::engine::general_purpose::STANDARD.encode(metadata.to_string()),
                )
                .set_body_raw(body.to_string(), "application/json")
        })
        .mount(&server)
        .await;
    server
}

async fn provider(app: &TestApp, breakage: Option<Breakage>) -> (MockServer, Arc<States>) {
    let message = Arc::new(Mutex::new(None));
    let endpoint = message_endpoint(Arc::clone(&message), breakage).await;
    let states = Arc::new(States {
        db: app.store_db(),
        message,
    });
    (endpoint, states)
}

#[tokio::test]
async fn order_service_publishes_the_events_notification_service_expects() {
    let app = spawn_app().await;
    let (endpoint, states) = provider(&app, None).await;
    let verified = contracts::verify_all_committed_messages(
        PROVIDER,
        env!("CARGO_MANIFEST_DIR"),
        endpoint.address().port(),
        MESSAGES_PATH,
        &states,
    )
    .await;
    assert_eq!(verified, 2, "order.created and order.cancelled");
}

#[tokio::test]
async fn a_broken_event_fails_verification_as_a_mismatch() {
    let app = spawn_app().await;
    let contract = contracts::contracts_dir(env!("CARGO_MANIFEST_DIR"))
        .join("notification-service-order-service.json");
    let mut caught = 0;
    for breakage in BREAKAGES {
        let (endpoint, states) = provider(&app, Some(breakage)).await;
        let result = contracts::verify_messages(
            PROVIDER,
            endpoint.address().port(),
            MESSAGES_PATH,
            PactSource::File(contract.display().to_string()),
            &states,
        )
        .await;
        contracts::assert_caught_as_mismatch(&result, &format!("{breakage:?}"));
        caught += 1;
    }
    assert_eq!(caught, BREAKAGES.len());
}
