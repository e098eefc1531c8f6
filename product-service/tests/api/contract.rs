//! Provider verification: product-service honours every committed contract that names it.
//!
//! Provider states are set in-process through the service's own store layer; the production
//! application has no test-only route. Stock is brought down to a state's level by reserving
//! the difference, exactly as an order would.

use std::collections::HashMap;
use std::sync::Arc;

use http_plumbing::db::Db;
use pact_models::provider_states::ProviderState;
use pact_verifier::callback_executors::ProviderStateExecutor;
use product_service::domain::{
    MAX_QUANTITY, NewProduct, PriceCents, ProductId, ProductName, Quantity, Stock,
};
use product_service::store::products::{
    fetch_product, insert_product_with_id, sync_product_id_sequence,
};
use product_service::store::reservations::{
    Released, Reserved, fetch_reservation, release_reservation, reserve_stock,
};
use serde_json::Value;
use testkit::contracts::{self, StateParams};
use uuid::Uuid;

use crate::helpers::spawn_app;

const PROVIDER: &str = "product-service";

/// Sets up the provider states the consumers' contracts name.
#[derive(Debug)]
struct States {
    db: Db,
}

fn int(params: &StateParams, key: &str) -> anyhow::Result<i64> {
    params
        .get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| anyhow::anyhow!("state needs an integer `{key}`"))
}

fn product_id(params: &StateParams) -> anyhow::Result<ProductId> {
    ProductId::parse(int(params, "id").or_else(|_| int(params, "product_id"))?)
        .map_err(anyhow::Error::msg)
}

fn reservation_id(params: &StateParams) -> anyhow::Result<Uuid> {
    let raw = params
        .get("reservation_id")
        .and_then(Value::as_str)
        .ok_or_else(|| anyhow::anyhow!("state needs a string `reservation_id`"))?;
    Ok(raw.parse()?)
}

impl States {
    /// Creates the product unless it exists.
    async fn ensure_product(
        &self,
        id: ProductId,
        name: &str,
        price_cents: i64,
        stock: i64,
    ) -> anyhow::Result<()> {
        let product = NewProduct {
            name: ProductName::parse(name).map_err(anyhow::Error::msg)?,
            price: PriceCents::parse(price_cents).map_err(anyhow::Error::msg)?,
            stock: Stock::parse(stock).map_err(anyhow::Error::msg)?,
        };
        insert_product_with_id(&self.db, id, &product).await?;
        sync_product_id_sequence(&self.db).await?;
        Ok(())
    }

    /// Reserves stock away until exactly `target` units are left.
    async fn bring_stock_to(&self, id: ProductId, target: i64) -> anyhow::Result<()> {
        loop {
            let current = i64::from(fetch_product(&self.db, id).await?.map_or(0, |p| p.stock));
            anyhow::ensure!(
                current >= target,
                "product {} has {current} units, fewer than {target}",
                id.get()
            );
            if current == target {
                return Ok(());
            }
            let take = Quantity::parse((current - target).min(MAX_QUANTITY))
                .map_err(anyhow::Error::msg)?;
            reserve_stock(&self.db, Uuid::new_v4(), id, take).await?;
        }
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
        let params = &state.params;
        match state.name.as_str() {
            "a product exists" => {
                let name = params
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("Contract Product");
                let price = int(params, "price_cents").unwrap_or(1000);
                self.ensure_product(product_id(params)?, name, price, 100)
                    .await?;
            }
            "a product has stock" => {
                let id = product_id(params)?;
                let stock = int(params, "stock")?;
                self.ensure_product(id, "Contract Product", 1000, stock)
                    .await?;
                self.bring_stock_to(id, stock).await?;
            }
            "a reservation exists" => {
                let id = product_id(params)?;
                let quantity =
                    Quantity::parse(int(params, "quantity")?).map_err(anyhow::Error::msg)?;
                self.ensure_product(id, "Contract Product", 1000, 100)
                    .await?;
                let outcome =
                    reserve_stock(&self.db, reservation_id(params)?, id, quantity).await?;
                anyhow::ensure!(
                    matches!(outcome, Reserved::Created(_) | Reserved::Existing(_)),
                    "could not set up the reservation: {outcome:?}"
                );
            }
            "a reservation id was released" => {
                // Released before it held anything: the id is void from now on.
                let id = reservation_id(params)?;
                let released = release_reservation(&self.db, id).await?;
                anyhow::ensure!(
                    matches!(released, Released::NotFound | Released::Already(_)),
                    "could not void the reservation id: {released:?}"
                );
            }
            "no product exists" => {
                let id = product_id(params)?;
                anyhow::ensure!(
                    fetch_product(&self.db, id).await?.is_none(),
                    "product {} exists",
                    id.get()
                );
            }
            "no reservation exists" => {
                let id = reservation_id(params)?;
                anyhow::ensure!(
                    fetch_reservation(&self.db, id).await?.is_none(),
                    "reservation {id} exists"
                );
            }
            other => anyhow::bail!("unknown provider state {other:?}"),
        }
        Ok(HashMap::new())
    }

    fn teardown(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn every_committed_contract_naming_product_service_is_verified() {
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
    assert!(caught >= 21, "only {caught} breakages were tried");
}

#[test]
fn every_contract_interaction_is_valid_against_the_committed_openapi_spec() {
    contracts::assert_contracts_match_openapi(PROVIDER, env!("CARGO_MANIFEST_DIR"));
}
