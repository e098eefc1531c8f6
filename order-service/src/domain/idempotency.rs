//! Idempotency keys: a client's name for one intended request, so that repeating the request
//! (after a timeout, say) cannot place a second order.

/// Longest key accepted, in characters.
pub const MAX_KEY_LEN: usize = 255;

/// A valid `Idempotency-Key` header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Accepts 1 to [`MAX_KEY_LEN`] printable ASCII characters (space to `~`), not all of them
    /// spaces. The IETF draft sends the key as a structured-field string (`"abc"`); Stripe and
    /// most clients send it bare (`abc`): both are accepted, and `"abc"` is the key `abc`.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let key = match raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
            Some(inner) if raw.len() >= 2 => inner,
            _ => raw,
        };
        if key.trim().is_empty() {
            return Err("Idempotency-Key must not be empty".to_owned());
        }
        if key.chars().count() > MAX_KEY_LEN {
            return Err(format!(
                "Idempotency-Key must be at most {MAX_KEY_LEN} characters, got {}",
                key.chars().count()
            ));
        }
        if !key.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err("Idempotency-Key must be printable ASCII".to_owned());
        }
        Ok(Self(key.to_owned()))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_bare_or_quoted_are_accepted_and_bad_ones_refused() {
        assert_eq!(IdempotencyKey::parse("abc-1").unwrap().as_str(), "abc-1");
        assert_eq!(
            IdempotencyKey::parse("\"abc-1\"").unwrap().as_str(),
            "abc-1"
        );
        assert!(IdempotencyKey::parse("").is_err());
        assert!(IdempotencyKey::parse("\"\"").is_err());
        assert!(IdempotencyKey::parse("   ").is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(256)).is_err());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        assert!(IdempotencyKey::parse("tab\there").is_err());
        assert!(IdempotencyKey::parse("clé").is_err());
    }
}
