//! Consumer-driven message contracts: notification-service's real decoding and email
//! composition driven with the messages it expects from order-service. Passing tests write
//! `contracts/notification-service-order-service.json` (Pact V4, asynchronous messages), which
//! order-service verifies by building each message with the code its relay publishes with.
//!
//! Regenerate with `cargo xtask contracts` (it deletes the file first, so stale interactions
//! disappear, then fails if the result differs from what is committed).

mod order_events;

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard};

use pact_consumer::patterns::Pattern;
use pact_consumer::prelude::*;
use pact_models::matchingrules::{MatchingRule, MatchingRuleCategory, RuleLogic};
use pact_models::path_exp::DocPath;

/// The consumer's name in every contract.
pub const CONSUMER: &str = "notification-service";
/// Pattern of a UUID.
pub const UUID_PATTERN: &str =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
/// Pattern of an email address the service can send to (plausible, not RFC 5322).
pub const EMAIL_PATTERN: &str = r"^[^@\s]+@[^@\s]+\.[^@\s]+$";

/// The folder the contracts are written to: `<workspace>/contracts`.
pub fn contracts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../contracts")
}

/// A Pact V4 builder for `provider` that writes into [`contracts_dir`].
pub fn pact(provider: &str) -> PactBuilder {
    let mut builder = PactBuilder::new_v4(CONSUMER, provider);
    builder.with_output_dir(contracts_dir());
    builder
}

/// Serialises the tests: each one merges its interaction into the shared contract file.
pub fn file_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Matches any JSON integer (money is integer cents: a float must fail verification).
#[derive(Debug)]
pub struct Integer(pub i64);

impl Pattern for Integer {
    type Matches = serde_json::Value;

    fn to_example(&self) -> serde_json::Value {
        serde_json::Value::from(self.0)
    }

    fn to_example_bytes(&self) -> Vec<u8> {
        self.0.to_string().into_bytes()
    }

    fn extract_matching_rules(&self, path: DocPath, rules_out: &mut MatchingRuleCategory) {
        rules_out.add_rule(path, MatchingRule::Integer, RuleLogic::And);
    }
}

/// An [`Integer`] pattern inside `json_pattern!`.
pub fn integer(example: i64) -> JsonPattern {
    JsonPattern::pattern(Integer(example))
}
