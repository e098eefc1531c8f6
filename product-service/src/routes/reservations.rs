//! `/reservations/{id}`: reserve stock idempotently, look a reservation up, release it.

use actix_web::{HttpResponse, get, post, put, web};
use chrono::{DateTime, Utc};
use http_plumbing::ErrorBody;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::ReservationState;
use crate::domain::{ProductId, Quantity};
use crate::errors::ApiError;
use crate::store::Store;
use crate::store::reservations::{Released, ReservationRow, ReserveRequest, Reserved};

/// Whether a reservation still holds its stock.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// The stock is held.
    Reserved,
    /// The stock was given back.
    Released,
}

/// A stock reservation.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"id": "7d0f3c1e-9a54-4d43-8f5e-1f1f0c2b9a10", "product_id": 101, "quantity": 3,
    "product_name": "Wireless Keyboard", "unit_price_cents": 4999, "status": "reserved", "created_at": "2026-11-26T12:00:00Z", "released_at": null}))]
pub struct Reservation {
    /// The reservation id chosen by the caller (order-service uses the order id).
    pub id: Uuid,
    /// The product reserved.
    pub product_id: i64,
    /// Units reserved.
    pub quantity: i32,
    /// The product's name when the stock was taken.
    pub product_name: String,
    /// The product's unit price in integer cents when the stock was taken: the price the
    /// reserved units are held at, whatever the product's price later becomes.
    #[schema(minimum = 0)]
    pub unit_price_cents: i64,
    /// `reserved` while the stock is held, `released` once it was given back.
    pub status: ReservationStatus,
    /// When the reservation was made (RFC 3339, UTC).
    pub created_at: DateTime<Utc>,
    /// When it was released, or null.
    pub released_at: Option<DateTime<Utc>>,
}

impl From<ReservationRow> for Reservation {
    fn from(row: ReservationRow) -> Self {
        Self {
            id: row.id,
            product_id: row.product_id,
            quantity: row.quantity,
            product_name: row.product_name,
            unit_price_cents: row.unit_price_cents,
            status: match row.status {
                ReservationState::Reserved => ReservationStatus::Reserved,
                ReservationState::Released => ReservationStatus::Released,
            },
            created_at: row.created_at,
            released_at: row.released_at,
        }
    }
}

/// Terms of a reservation.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"product_id": 101, "quantity": 3}))]
pub struct ReserveStock {
    /// The product to reserve.
    #[schema(minimum = 1)]
    pub product_id: i64,
    /// Units to reserve, 1 to 1000.
    #[schema(minimum = 1, maximum = 1000)]
    pub quantity: i64,
}

/// Reserve stock under a caller-chosen id.
///
/// Atomic: takes `quantity` units or none, never oversells. Idempotent per id: repeating
/// the same request returns the same reservation (200) and takes no more stock. The
/// reservation records the product's name and unit price as they were when the stock was
/// taken, read in the same statement, so a caller can price an order from it.
///
/// An id that was released — after it held stock, or before (a release of an id that held
/// nothing makes it void) — can never hold stock again: 409 `reservation_released`. So a
/// caller that gave up on a reservation and released its id knows no stock stays held under
/// it, even if the reservation request is still on its way.
#[utoipa::path(
    tag = "reservations",
    params(("id" = Uuid, Path, description = "Reservation id: the caller's idempotency key")),
    request_body = ReserveStock,
    responses(
        (status = 201, description = "Reserved now", body = Reservation),
        (status = 200, description = "This reservation already existed; nothing more was taken", body = Reservation),
        (status = 400, description = "Malformed JSON or a reservation id that is not a UUID", body = ErrorBody),
        (status = 404, description = "No such product", body = ErrorBody,
            example = json!({"code": "product_not_found", "message": "product 999 does not exist"})),
        (status = 409, description = "Not enough stock (`insufficient_stock`), the id is taken by other terms (`reservation_conflict`), or the id was released (`reservation_released`)",
            body = ErrorBody,
            example = json!({"code": "insufficient_stock", "message": "product 103 has 2 units in stock, 3 were requested"})),
        (status = 413, description = "Body over 16 KiB", body = ErrorBody),
        (status = 415, description = "Body is not JSON", body = ErrorBody),
        (status = 422, description = "Missing field, wrong type, or quantity/product id out of range", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[put("/reservations/{id}")]
pub async fn reserve_stock(
    store: web::Data<Store>,
    id: web::Path<Uuid>,
    body: web::Json<ReserveStock>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let product = ProductId::parse(body.product_id).map_err(ApiError::Invalid)?;
    let quantity = Quantity::parse(body.quantity).map_err(ApiError::Invalid)?;
    let request = ReserveRequest {
        id,
        product,
        quantity,
    };
    match store.reserve(request).await? {
        Reserved::Created(r) => Ok(HttpResponse::Created().json(Reservation::from(r))),
        Reserved::Existing(r) => Ok(HttpResponse::Ok().json(Reservation::from(r))),
        Reserved::Conflict(_) => Err(ApiError::ReservationConflict(id)),
        Reserved::Released => Err(ApiError::ReservationReleased(id)),
        Reserved::ProductNotFound => Err(ApiError::ProductNotFound(product.get())),
        Reserved::InsufficientStock { available } => Err(ApiError::InsufficientStock {
            product_id: product.get(),
            available,
            requested: quantity.get(),
        }),
    }
}

/// Get a reservation by id.
#[utoipa::path(
    tag = "reservations",
    params(("id" = Uuid, Path, description = "Reservation id")),
    responses(
        (status = 200, description = "The reservation", body = Reservation),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 404, description = "No such reservation", body = ErrorBody),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[get("/reservations/{id}")]
pub async fn get_reservation(
    store: web::Data<Store>,
    id: web::Path<Uuid>,
) -> Result<web::Json<Reservation>, ApiError> {
    let id = id.into_inner();
    let row = store
        .fetch_reservation(id)
        .await?
        .ok_or(ApiError::ReservationNotFound(id))?;
    Ok(web::Json(row.into()))
}

/// Release a reservation, giving its stock back exactly once.
///
/// Idempotent: releasing an already released reservation answers 200 and changes nothing.
/// Releasing an id that holds nothing answers 404 and makes the id void: a reservation under
/// it arriving later is refused (409 `reservation_released`) and takes no stock.
#[utoipa::path(
    tag = "reservations",
    params(("id" = Uuid, Path, description = "Reservation id")),
    responses(
        (status = 200, description = "Released (now or earlier)", body = Reservation),
        (status = 400, description = "The id is not a UUID", body = ErrorBody),
        (status = 404, description = "No such reservation; the id is now void and can never hold stock", body = ErrorBody,
            example = json!({"code": "reservation_not_found", "message": "reservation 7d0f3c1e-9a54-4d43-8f5e-1f1f0c2b9a10 does not exist"})),
        (status = 503, description = "Database unavailable", body = ErrorBody),
    )
)]
#[post("/reservations/{id}/release")]
pub async fn release_reservation(
    store: web::Data<Store>,
    id: web::Path<Uuid>,
) -> Result<web::Json<Reservation>, ApiError> {
    let id = id.into_inner();
    match store.release(id).await? {
        Released::Now(r) | Released::Already(r) => Ok(web::Json(r.into())),
        Released::NotFound => Err(ApiError::ReservationNotFound(id)),
    }
}
