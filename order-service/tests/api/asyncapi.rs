//! The committed message contracts agree with the committed AsyncAPI document of order-service's
//! events.

#[test]
fn the_committed_message_contract_agrees_with_the_asyncapi_document() {
    testkit::contracts::assert_message_contracts_match_asyncapi(
        "order-service",
        env!("CARGO_MANIFEST_DIR"),
    );
}
