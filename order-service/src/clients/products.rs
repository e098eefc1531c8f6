//! Client for product-service: reserve stock, release a reservation.

use reqwest::StatusCode;
use reqwest_middleware::ClientWithMiddleware;
use serde::{Deserialize, Serialize};
use telemetry::CorrelationId;
use tokio::time::Instant;
use uuid::Uuid;

use super::{CallError, Downstream, read_json, send, unexpected};

/// The remote service's name.
pub const SERVICE: &str = "product-service";

/// The part of a reservation that order-service uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Reservation {
    /// The reservation id (order-service uses the order id).
    pub id: Uuid,
    /// Units reserved.
    pub quantity: i32,
    /// The product's name when the stock was taken.
    pub product_name: String,
    /// The product's unit price in integer cents when the stock was taken.
    pub unit_price_cents: i64,
    /// `reserved` or `released`.
    pub status: String,
}

#[derive(Serialize)]
struct ReserveBody {
    product_id: i64,
    quantity: i32,
}

#[derive(Deserialize)]
struct ErrorBody {
    code: String,
    message: String,
}

/// Why a product call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ProductClientError {
    /// product-service has no such product.
    #[error("product {0} does not exist")]
    ProductNotFound(i64),
    /// Not enough stock; the message is product-service's.
    #[error("{0}")]
    InsufficientStock(String),
    /// The reservation id is taken by other terms.
    #[error("reservation {0} exists with other terms")]
    ReservationConflict(Uuid),
    /// The reservation id was released (before or after it held stock): it holds nothing and
    /// never will.
    #[error("reservation {0} was released")]
    ReservationReleased(Uuid),
    /// No reservation has this id.
    #[error("reservation {0} does not exist")]
    ReservationNotFound(Uuid),
    /// The call failed.
    #[error(transparent)]
    Call(#[from] CallError),
}

/// Calls product-service at a base URL, through its [`Downstream`]'s breaker and bulkhead.
#[derive(Debug, Clone)]
pub struct ProductClient {
    base_url: String,
    http: ClientWithMiddleware,
    downstream: Downstream,
}

impl ProductClient {
    /// A client for the product-service at `base_url` (no trailing slash needed).
    pub fn new(base_url: &str, downstream: Downstream, http: reqwest::Client) -> Self {
        Self {
            base_url: base_url.trim_end_matches('/').to_owned(),
            http: downstream.client(http),
            downstream,
        }
    }

    /// The remote service's breaker and bulkhead.
    pub fn downstream(&self) -> &Downstream {
        &self.downstream
    }

    /// `PUT /reservations/{id}`: reserves stock; safe to repeat with the same id, so retried
    /// on transient failures until `deadline`. The answer carries the product's name and unit
    /// price as they were when the stock was taken.
    pub async fn reserve(
        &self,
        reservation_id: Uuid,
        product_id: i64,
        quantity: i32,
        correlation_id: &CorrelationId,
        deadline: Instant,
    ) -> Result<Reservation, ProductClientError> {
        let request = self
            .http
            .put(format!("{}/reservations/{reservation_id}", self.base_url))
            .json(&ReserveBody {
                product_id,
                quantity,
            });
        let response = send(&self.downstream, request, correlation_id, deadline).await?;
        match response.status() {
            StatusCode::CREATED | StatusCode::OK => Ok(read_json(SERVICE, response).await?),
            StatusCode::NOT_FOUND => Err(ProductClientError::ProductNotFound(product_id)),
            StatusCode::CONFLICT => {
                let body: ErrorBody = read_json(SERVICE, response).await?;
                match body.code.as_str() {
                    "insufficient_stock" => {
                        Err(ProductClientError::InsufficientStock(body.message))
                    }
                    "reservation_released" => {
                        Err(ProductClientError::ReservationReleased(reservation_id))
                    }
                    _ => Err(ProductClientError::ReservationConflict(reservation_id)),
                }
            }
            _ => Err(unexpected(SERVICE, &response).into()),
        }
    }

    /// `POST /reservations/{id}/release`: gives the stock back; safe to repeat, so retried on
    /// transient failures until `deadline`. Releasing an id that holds nothing answers
    /// [`ProductClientError::ReservationNotFound`] and makes the id void, so a reservation
    /// under it arriving later takes nothing.
    pub async fn release(
        &self,
        reservation_id: Uuid,
        correlation_id: &CorrelationId,
        deadline: Instant,
    ) -> Result<Reservation, ProductClientError> {
        let request = self.http.post(format!(
            "{}/reservations/{reservation_id}/release",
            self.base_url
        ));
        let response = send(&self.downstream, request, correlation_id, deadline).await?;
        match response.status() {
            StatusCode::OK => Ok(read_json(SERVICE, response).await?),
            StatusCode::NOT_FOUND => Err(ProductClientError::ReservationNotFound(reservation_id)),
            _ => Err(unexpected(SERVICE, &response).into()),
        }
    }
}
