//! The email an order event becomes: subject and plain-text body.

use crate::events::{EventKind, OrderEvent};

/// What an email says; the addresses are the mailer's business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailContent {
    /// `Subject:` line.
    pub subject: String,
    /// Plain-text body.
    pub text: String,
}

/// Integer cents as a decimal amount: `4999` is `49.99`. Never a float.
pub fn format_cents(cents: i64) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let cents = cents.unsigned_abs();
    format!("{sign}{}.{:02}", cents / 100, cents % 100)
}

/// The confirmation or cancellation email for an event.
pub fn compose(event: &OrderEvent) -> EmailContent {
    let line = format!(
        "{} x {}, total {}",
        event.quantity,
        event.product_name,
        format_cents(event.total_cents)
    );
    match event.kind {
        EventKind::Created => EmailContent {
            subject: format!("Your order {} is confirmed", event.order_id),
            text: format!(
                "Hello {},\r\n\r\nthank you for your order {}: {line}.\r\n\r\n\
                 We will write again if anything changes.\r\n",
                event.user_name, event.order_id
            ),
        },
        EventKind::Cancelled => EmailContent {
            subject: format!("Your order {} has been cancelled", event.order_id),
            text: format!(
                "Hello {},\r\n\r\nyour order {} ({line}) has been cancelled.\r\n",
                event.user_name, event.order_id
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_are_formatted_exactly() {
        assert_eq!(format_cents(4999), "49.99");
        assert_eq!(format_cents(5), "0.05");
        assert_eq!(format_cents(100), "1.00");
        assert_eq!(format_cents(-250), "-2.50");
    }
}
