//! `/orders`: place, fetch, list and cancel orders.

use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, Utc};
use http_plumbing::ErrorBody;
use http_plumbing::pagination::PageParams;
use serde::{Deserialize, Serialize};
use telemetry::CorrelationId;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::domain::{IdempotencyKey, OrderRequest, OrderStatus, Quantity, ResourceId};
use crate::errors::{ApiError, IDEMPOTENT_REPLAYED};
use crate::saga::{Cancelled, Placed, Saga};
use crate::store::OrderStore;
use crate::store::orders::PlacedOrder;

/// The request header naming a client's idempotency key for `POST /orders`.
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";

/// An order to place: the seed tutorial's body.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"user_id": 1, "product_id": 101, "quantity": 1}))]
pub struct PlaceOrder {
    /// Who orders: a user id of user-service.
    #[schema(minimum = 1)]
    pub user_id: i64,
    /// What is ordered: a product id of product-service.
    #[schema(minimum = 1)]
    pub product_id: i64,
    /// Units, 1 to 1000.
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: i64,
}

/// Where a placed order stands.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    /// Stock reserved and order placed.
    Confirmed,
    /// A cancel was accepted; the release of its stock is being completed.
    Cancelling,
    /// Cancelled; its stock was released.
    Cancelled,
}

/// The user as they were when the order was placed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserSnapshot {
    /// The user's id.
    pub id: i64,
    /// The user's name then.
    pub name: String,
    /// The user's email then.
    pub email: String,
}

/// The product as it was when the order was placed.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProductSnapshot {
    /// The product's id.
    pub id: i64,
    /// The product's name then.
    pub name: String,
    /// The unit price then, in integer cents.
    pub unit_price_cents: i64,
}

/// An order. Money is integer cents: `total_cents` 4999 is 49.99.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({
    "id": "0b5e3f9a-6f0c-4d1e-9a63-4f1f2b8c7d10", "status": "confirmed",
    "user": {"id": 1, "name": "Alice Johnson", "email": "alice@example.com"},
    "product": {"id": 101, "name": "Wireless Keyboard", "unit_price_cents": 4999},
    "quantity": 1, "total_cents": 4999,
    "created_at": "2026-11-26T12:00:00Z", "cancelled_at": null}))]
pub struct Order {
    /// The order's id.
    pub id: Uuid,
    /// `confirmed`, `cancelling` (a cancel is being completed) or `cancelled`.
    pub status: OrderState,
    /// Snapshot of the user.
    pub user: UserSnapshot,
    /// Snapshot of the product.
    pub product: ProductSnapshot,
    /// Units ordered.
    pub quantity: i32,
    /// `unit_price_cents × quantity`, exact, in integer cents.
    pub total_cents: i64,
    /// When the order was placed (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When it was cancelled, or null.
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<PlacedOrder> for Order {
    fn from(row: PlacedOrder) -> Self {
        Self {
            id: row.id,
            status: match row.status {
                OrderStatus::Cancelling => OrderState::Cancelling,
                OrderStatus::Cancelled => OrderState::Cancelled,
                // Only placed orders reach the API: the store refuses any other.
                _ => OrderState::Confirmed,
            },
            user: UserSnapshot {
                id: row.user_id,
                name: row.user_name,
                email: row.user_email,
            },
            product: ProductSnapshot {
                id: row.product_id,
                name: row.product_name,
                unit_price_cents: row.unit_price_cents,
            },
            quantity: row.quantity,
            total_cents: row.total_cents,
            created_at: row.created_at,
            cancelled_at: row.cancelled_at,
        }
    }
}

/// One page of a user's orders.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct OrderPage {
    /// The orders on this page, newest first.
    pub items: Vec<Order>,
    /// The page size used.
    pub limit: i64,
    /// How many orders were skipped.
    pub offset: i64,
    /// How many orders the user has in all.
    pub total: i64,
}

/// Query of `GET /orders`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListOrders {
    /// Whose orders to list (required).
    #[param(minimum = 1, example = 1)]
    pub user_id: i64,
    /// How many orders to return, 1 to 100 (default 20).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// How many orders to skip (default 0).
    #[param(minimum = 0)]
    pub offset: Option<u32>,
}

/// Place an order.
///
/// Records the order as pending, verifies the user (user-service), reserves `quantity` units
/// (product-service; the reservation names the product and the unit price the stock was
/// taken at), and confirms the order with snapshots of the user and the product — all within
/// one deadline (`APP_REQUEST_DEADLINE_MS`, default 2 s). Within it the answer is 201 or a
/// 4xx; a 503 means no order was placed and any stock taken is being given back, and no order
/// is ever confirmed after its deadline.
///
/// Send an `Idempotency-Key` header (1 to 255 printable ASCII characters, bare or as a quoted
/// string) to make retries safe: a repeat with the same key and body gets the first answer
/// again (`Idempotent-Replayed: true`), a repeat while the first is still in flight a 409
/// `request_in_progress`, the same key with another body a 422 `idempotency_key_reused`. An
/// answer of 503 does not fix the key: a repeat is processed anew. Keys are kept 24 h.
#[utoipa::path(
    tag = "orders",
    request_body = PlaceOrder,
    params(
        ("Idempotency-Key" = Option<String>, Header, max_length = 255,
            description = "Makes retries of this request safe: at most one order is placed per key"),
    ),
    responses(
        (status = 201, description = "Placed; `Location` names the order. With `Idempotent-Replayed: true`, placed earlier by a request with the same key", body = Order,
            headers(("Location" = String, description = "The order's path"))),
        (status = 400, description = "Malformed JSON (`malformed_json`) or Idempotency-Key (`invalid_idempotency_key`)", body = ErrorBody,
            example = json!({"code": "malformed_json", "message": "request body is not valid JSON: EOF while parsing an object at line 1 column 14"})),
        (status = 409, description = "Not enough stock (`insufficient_stock`), or a request with this Idempotency-Key is still in flight (`request_in_progress`, with `Retry-After`)", body = ErrorBody,
            example = json!({"code": "insufficient_stock", "message": "product 103 has 2 units in stock, 3 were requested"})),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing field or wrong type (`invalid_body`), a value out of range (`invalid_input`), a user or product that does not exist (`unknown_user`, `unknown_product`), or an Idempotency-Key used for another request (`idempotency_key_reused`)",
            body = ErrorBody,
            example = json!({"code": "unknown_user", "message": "user 42 does not exist"})),
        (status = 500, description = "A fault of order-service's own; nothing was placed", body = ErrorBody),
        (status = 503, description = "user-service, product-service or the database is unavailable, too slow or its circuit breaker is open, or the deadline passed (`user_service_unavailable`, `product_service_unavailable`, `database_unavailable`, `deadline_exceeded`, `overloaded`); nothing was placed, and `Retry-After` says when to try again",
            body = ErrorBody,
            example = json!({"code": "product_service_unavailable", "message": "product-service is unavailable; no order was placed and any stock taken is being given back. Try again shortly"})),
    )
)]
#[post("/orders")]
pub async fn place_order(
    saga: web::Data<Saga>,
    correlation_id: CorrelationId,
    req: HttpRequest,
    body: web::Json<PlaceOrder>,
) -> Result<HttpResponse, ApiError> {
    let request = OrderRequest {
        user_id: ResourceId::parse(body.user_id, "user_id").map_err(ApiError::Invalid)?,
        product_id: ResourceId::parse(body.product_id, "product_id").map_err(ApiError::Invalid)?,
        quantity: Quantity::parse(body.quantity).map_err(ApiError::Invalid)?,
    };
    let key = match req.headers().get(IDEMPOTENCY_KEY) {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| "Idempotency-Key must be printable ASCII".to_owned())
                .and_then(IdempotencyKey::parse)
                .map_err(ApiError::BadIdempotencyKey)?,
        ),
    };
    let (order, replayed) = match saga.place(request, key, &correlation_id).await? {
        Placed::New(order) => (order, false),
        Placed::Replayed(order) => (order, true),
    };
    let mut response = HttpResponse::Created();
    response.insert_header((header::LOCATION, format!("/orders/{}", order.id)));
    if replayed {
        response.insert_header((
            HeaderName::from_static(IDEMPOTENT_REPLAYED),
            HeaderValue::from_static("true"),
        ));
    }
    Ok(response.json(Order::from(order)))
}

/// Get an order by id.
#[utoipa::path(
    tag = "orders",
    params(("id" = Uuid, Path, description = "The order's id")),
    responses(
        (status = 200, description = "The order", body = Order),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[get("/orders/{id}")]
pub async fn get_order(
    store: web::Data<OrderStore>,
    id: web::Path<Uuid>,
) -> Result<web::Json<Order>, ApiError> {
    let id = id.into_inner();
    let order = store
        .fetch_order(id)
        .await?
        .ok_or(ApiError::OrderNotFound(id))?;
    Ok(web::Json(order.into()))
}

/// List a user's orders, newest first.
#[utoipa::path(
    tag = "orders",
    params(ListOrders),
    responses(
        (status = 200, description = "A page of the user's orders", body = OrderPage),
        (status = 400, description = "user_id missing or not a positive integer, or paging out of range", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[get("/orders")]
pub async fn list_orders(
    store: web::Data<OrderStore>,
    query: web::Query<ListOrders>,
) -> Result<web::Json<OrderPage>, ApiError> {
    let query = query.into_inner();
    let user_id = ResourceId::parse(query.user_id, "user_id").map_err(ApiError::BadRequest)?;
    let page = PageParams {
        limit: query.limit,
        offset: query.offset,
    }
    .parse()
    .map_err(ApiError::BadRequest)?;
    let (orders, total) = store.list_orders_of_user(user_id.get(), page).await?;
    Ok(web::Json(OrderPage {
        items: orders.into_iter().map(Order::from).collect(),
        limit: page.limit,
        offset: page.offset,
        total,
    }))
}

/// Cancel an order, releasing its stock exactly once.
///
/// 200 with the order cancelled (cancelling a cancelled order answers 200 and changes
/// nothing). If product-service cannot release the stock within the deadline, the cancel is
/// still recorded: 202 with the order `cancelling`, and order-service completes the release
/// itself (retrying with backoff); the order then becomes `cancelled`.
#[utoipa::path(
    tag = "orders",
    params(("id" = Uuid, Path, description = "The order's id")),
    responses(
        (status = 200, description = "Cancelled (now or earlier)", body = Order),
        (status = 202, description = "Cancel accepted; the stock is being released and the order will become `cancelled`", body = Order),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 404, description = "No such order", body = ErrorBody),
        (status = 503, description = "The database is unavailable; the order is unchanged", body = ErrorBody),
    )
)]
#[post("/orders/{id}/cancel")]
pub async fn cancel_order(
    saga: web::Data<Saga>,
    correlation_id: CorrelationId,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    Ok(match saga.cancel(id.into_inner(), &correlation_id).await? {
        Cancelled::Done(order) => HttpResponse::Ok().json(Order::from(order)),
        Cancelled::Accepted(order) => HttpResponse::Accepted().json(Order::from(order)),
    })
}
