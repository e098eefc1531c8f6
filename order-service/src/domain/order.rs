//! An order request's validated fields, and exact money arithmetic.

/// Most units one order may take.
pub const MAX_QUANTITY: i64 = 1_000;

/// The id of a user or product held by another service: a positive 64-bit integer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceId(i64);

impl ResourceId {
    /// Accepts ids from 1 to `i64::MAX`; `what` names the field in the error.
    pub fn parse(raw: i64, what: &str) -> Result<Self, String> {
        if raw >= 1 {
            Ok(Self(raw))
        } else {
            Err(format!("{what} must be a positive integer, got {raw}"))
        }
    }

    /// The id.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// Units to order: 1 to [`MAX_QUANTITY`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quantity(i32);

impl Quantity {
    /// Accepts 1 to [`MAX_QUANTITY`].
    pub fn parse(raw: i64) -> Result<Self, String> {
        match i32::try_from(raw) {
            Ok(n) if (1..=MAX_QUANTITY).contains(&raw) => Ok(Self(n)),
            _ => Err(format!(
                "quantity must be between 1 and {MAX_QUANTITY}, got {raw}"
            )),
        }
    }

    /// The quantity.
    pub fn get(self) -> i32 {
        self.0
    }
}

/// A valid request to place an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OrderRequest {
    /// Who orders.
    pub user_id: ResourceId,
    /// What is ordered.
    pub product_id: ResourceId,
    /// How many units.
    pub quantity: Quantity,
}

impl OrderRequest {
    /// The request in one canonical line, whatever the JSON looked like: what an idempotency
    /// key is bound to (`user_id=1&product_id=101&quantity=1`).
    pub fn fingerprint(&self) -> String {
        format!(
            "user_id={}&product_id={}&quantity={}",
            self.user_id.get(),
            self.product_id.get(),
            self.quantity.get()
        )
    }
}

/// Where an order stands in its saga (ARCHITECTURE.md draws the machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderStatus {
    /// Recorded before any stock is taken; the saga is running (or was cut short and awaits
    /// the recovery worker).
    Pending,
    /// Stock reserved and the order placed.
    Confirmed,
    /// Not placed, with a [`RejectionReason`]; any stock the saga may have taken is released.
    Rejected,
    /// A cancel was accepted; the release of its stock is still to be confirmed.
    Cancelling,
    /// Cancelled; its stock was released.
    Cancelled,
}

impl OrderStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
            Self::Cancelling => "cancelling",
            Self::Cancelled => "cancelled",
        }
    }

    /// True for the states of a placed order, which the API shows.
    pub fn is_placed(self) -> bool {
        matches!(self, Self::Confirmed | Self::Cancelling | Self::Cancelled)
    }
}

impl TryFrom<String> for OrderStatus {
    type Error = String;

    /// Parses the stored text; anything else is an error, never a default.
    fn try_from(raw: String) -> Result<Self, String> {
        Ok(match raw.as_str() {
            "pending" => Self::Pending,
            "confirmed" => Self::Confirmed,
            "rejected" => Self::Rejected,
            "cancelling" => Self::Cancelling,
            "cancelled" => Self::Cancelled,
            other => return Err(format!("unknown order status {other:?}")),
        })
    }
}

/// Why an order was not placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionReason {
    /// user-service has no such user.
    UnknownUser,
    /// product-service has no such product.
    UnknownProduct,
    /// Not enough stock.
    InsufficientStock,
    /// user-service failed, was too slow, or its breaker was open.
    UserServiceUnavailable,
    /// product-service failed, was too slow, or its breaker was open.
    ProductServiceUnavailable,
    /// This service's database failed while the order was being placed.
    DatabaseUnavailable,
    /// The request's deadline passed before the order could be confirmed.
    DeadlineExceeded,
    /// A fault of this service's own.
    Internal,
}

impl RejectionReason {
    /// The stored text, which is also the error code the client was answered with.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UnknownUser => "unknown_user",
            Self::UnknownProduct => "unknown_product",
            Self::InsufficientStock => "insufficient_stock",
            Self::UserServiceUnavailable => "user_service_unavailable",
            Self::ProductServiceUnavailable => "product_service_unavailable",
            Self::DatabaseUnavailable => "database_unavailable",
            Self::DeadlineExceeded => "deadline_exceeded",
            Self::Internal => "internal_error",
        }
    }

    /// True when the client's request itself was refused (a 4xx): the same request would be
    /// refused again, so an idempotency key keeps that answer. The other reasons are faults
    /// (5xx) that a retry may get past.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::UnknownUser | Self::UnknownProduct | Self::InsufficientStock
        )
    }
}

impl TryFrom<String> for RejectionReason {
    type Error = String;

    /// Parses the stored text; anything else is an error, never a default.
    fn try_from(raw: String) -> Result<Self, String> {
        Ok(match raw.as_str() {
            "unknown_user" => Self::UnknownUser,
            "unknown_product" => Self::UnknownProduct,
            "insufficient_stock" => Self::InsufficientStock,
            "user_service_unavailable" => Self::UserServiceUnavailable,
            "product_service_unavailable" => Self::ProductServiceUnavailable,
            "database_unavailable" => Self::DatabaseUnavailable,
            "deadline_exceeded" => Self::DeadlineExceeded,
            "internal_error" => Self::Internal,
            other => return Err(format!("unknown rejection reason {other:?}")),
        })
    }
}

/// `unit_price_cents × quantity`, exactly; `None` if a price is negative or it overflows.
pub fn total_cents(unit_price_cents: i64, quantity: Quantity) -> Option<i64> {
    if unit_price_cents < 0 {
        return None;
    }
    unit_price_cents.checked_mul(i64::from(quantity.get()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_are_exact_integer_cents() {
        let three = Quantity::parse(3).unwrap();
        assert_eq!(total_cents(4999, three), Some(14_997));
        assert_eq!(total_cents(i64::MAX, three), None);
        assert_eq!(total_cents(-1, three), None);
    }

    #[test]
    fn stored_statuses_and_reasons_round_trip_and_unknown_ones_are_errors() {
        use OrderStatus::*;
        for status in [Pending, Confirmed, Rejected, Cancelling, Cancelled] {
            assert_eq!(
                OrderStatus::try_from(status.as_str().to_owned()),
                Ok(status)
            );
        }
        assert!(OrderStatus::try_from("Confirmed".to_owned()).is_err());
        use RejectionReason::*;
        for reason in [
            UnknownUser,
            UnknownProduct,
            InsufficientStock,
            UserServiceUnavailable,
            ProductServiceUnavailable,
            DatabaseUnavailable,
            DeadlineExceeded,
            Internal,
        ] {
            assert_eq!(
                RejectionReason::try_from(reason.as_str().to_owned()),
                Ok(reason)
            );
        }
        assert!(RejectionReason::try_from("".to_owned()).is_err());
    }

    #[test]
    fn quantity_and_ids_are_range_checked() {
        assert!(Quantity::parse(0).is_err());
        assert!(Quantity::parse(-5).is_err());
        assert!(Quantity::parse(MAX_QUANTITY + 1).is_err());
        assert!(ResourceId::parse(0, "user_id").is_err());
        assert_eq!(ResourceId::parse(1, "user_id").map(ResourceId::get), Ok(1));
    }
}
