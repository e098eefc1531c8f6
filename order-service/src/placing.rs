//! The order saga: verify the user, reserve stock (the reservation names the product and
//! the unit price the stock was taken at), store the order, and compensate (release the
//! reservation) when a later step fails. Cancellation lives here too.
//!
//! Two calls per order: `GET /users/{id}` to user-service, then `PUT /reservations/{id}` to
//! product-service, whose answer carries the product snapshot; there is no separate product
//! lookup, so the price charged is exactly the price the stock was held at.
//!
//! The order id is made before anything happens and doubles as the reservation id, so every
//! call to product-service is safe to repeat and a compensating release always names exactly
//! the stock this order may have taken.

use http_plumbing::db::Db;
use telemetry::CorrelationId;
use uuid::Uuid;

use crate::clients::{ProductClient, ProductClientError, UserClient, UserClientError};
use crate::domain::{OrderRequest, total_cents};
use crate::errors::ApiError;
use crate::store::orders::{self as store, NewOrder, OrderInserts, OrderRow};

/// The remote services an order needs.
#[derive(Debug, Clone)]
pub struct Dependencies {
    /// user-service.
    pub users: UserClient,
    /// product-service.
    pub products: ProductClient,
}

/// Places an order. On success the stock is reserved and the order stored; on failure
/// nothing is stored and no reservation is left behind (unless product-service itself
/// became unreachable while compensating, which is logged as an error naming the order).
pub async fn place_order(
    db: &Db,
    inserts: &OrderInserts,
    deps: &Dependencies,
    request: OrderRequest,
    correlation_id: &CorrelationId,
) -> Result<OrderRow, ApiError> {
    let user = deps
        .users
        .fetch_user(request.user_id.get(), correlation_id)
        .await
        .map_err(|e| match e {
            UserClientError::NotFound(id) => ApiError::UnknownUser(id),
            UserClientError::Call(e) => ApiError::UserServiceUnavailable(e),
        })?;

    let order_id = Uuid::new_v4();
    let product_id = request.product_id.get();
    let quantity = request.quantity.get();
    let reservation = match deps
        .products
        .reserve(order_id, product_id, quantity, correlation_id)
        .await
    {
        Ok(reservation) => reservation,
        Err(e) => {
            if let ProductClientError::Call(call) = &e
                && call.is_ambiguous()
            {
                // The reservation may have been made before the failure: undo it to be safe.
                compensate(deps, order_id, correlation_id).await;
            }
            return Err(product_error(e));
        }
    };

    // The price is the one the stock was reserved at, read by product-service in the same
    // statement that took the stock.
    let Some(total) = total_cents(reservation.unit_price_cents, request.quantity) else {
        compensate(deps, order_id, correlation_id).await;
        return Err(ApiError::Internal(format!(
            "price {} of product {product_id} gives no valid total",
            reservation.unit_price_cents
        )));
    };
    let order = NewOrder {
        id: order_id,
        user_id: user.id,
        user_name: user.name,
        user_email: user.email,
        product_id,
        product_name: reservation.product_name,
        unit_price_cents: reservation.unit_price_cents,
        quantity,
        total_cents: total,
    };
    // Orders placed at the same moment on this worker are stored by one statement.
    match inserts.submit(db, order).await {
        Ok(row) => Ok(row),
        Err(e) => {
            compensate(deps, order_id, correlation_id).await;
            Err(e.into())
        }
    }
}

/// Cancels an order: releases its stock, then marks it cancelled. Cancelling a cancelled
/// order changes nothing. If product-service cannot be reached the order stays confirmed.
pub async fn cancel_order(
    db: &Db,
    deps: &Dependencies,
    id: Uuid,
    correlation_id: &CorrelationId,
) -> Result<OrderRow, ApiError> {
    let order = store::fetch_order(db, id)
        .await?
        .ok_or(ApiError::OrderNotFound(id))?;
    if order.status == "cancelled" {
        return Ok(order);
    }
    // Release first: it is idempotent, so a crash between the two steps is healed by
    // cancelling again, and stock is never returned twice.
    match deps.products.release(id, correlation_id).await {
        Ok(_) => {}
        Err(ProductClientError::ReservationNotFound(_)) => {
            tracing::warn!(order_id = %id, "product-service has no reservation for this order");
        }
        Err(e) => return Err(product_error(e)),
    }
    match store::mark_order_cancelled(db, id).await? {
        Some(row) => Ok(row),
        // A concurrent cancel got there first.
        None => store::fetch_order(db, id)
            .await?
            .ok_or(ApiError::OrderNotFound(id)),
    }
}

async fn compensate(deps: &Dependencies, order_id: Uuid, correlation_id: &CorrelationId) {
    match deps.products.release(order_id, correlation_id).await {
        Ok(_) => tracing::info!(%order_id, "reservation released after a failed order"),
        Err(ProductClientError::ReservationNotFound(_)) => {}
        Err(e) => tracing::error!(
            %order_id, error = %e,
            "could not release the reservation of a failed order; release it by hand"
        ),
    }
}

fn product_error(e: ProductClientError) -> ApiError {
    match e {
        ProductClientError::ProductNotFound(id) => ApiError::UnknownProduct(id),
        ProductClientError::InsufficientStock(message) => ApiError::InsufficientStock(message),
        ProductClientError::ReservationConflict(id)
        | ProductClientError::ReservationNotFound(id) => {
            ApiError::Internal(format!("reservation {id} is in an unexpected state"))
        }
        ProductClientError::Call(e) => ApiError::ProductServiceUnavailable(e),
    }
}
