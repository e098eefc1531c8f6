//! The contract cycle: consumer tests → contracts → provider verification → OpenAPI check.

use std::fs;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::run::{root, run};

/// The consumer whose contracts live in `contracts/`.
const CONSUMER: &str = "order-service";
/// The providers that verify them.
const PROVIDERS: [&str; 2] = ["user-service", "product-service"];
/// Message contracts (Pact V4 asynchronous messages) as (consumer, provider): each consumer's
/// `--test contracts` writes `contracts/<consumer>-<provider>.json`, regenerated and
/// drift-checked here like the HTTP ones, then verified by the provider's `message_contract`
/// tests (the relay's message builder against each interaction, and the broken-event proof)
/// and checked against its committed `asyncapi.json`.
const MESSAGE_CONTRACTS: [(&str, &str); 1] = [("notification-service", "order-service")];

/// Runs the whole cycle; fails on any drift, failed verification or disagreement.
pub fn cycle() -> anyhow::Result<()> {
    let dir = root().join("contracts");
    // Pact merges into existing files and would keep stale interactions: start empty.
    for provider in PROVIDERS {
        let file = dir.join(format!("{CONSUMER}-{provider}.json"));
        if file.exists() {
            fs::remove_file(&file).with_context(|| format!("remove {}", file.display()))?;
        }
    }
    run("cargo", &["test", "-p", CONSUMER, "--test", "contracts"])?;
    regenerate_message_contracts(&dir)?;
    run("git", &["add", "--intent-to-add", "contracts"])?;
    run("git", &["diff", "--exit-code", "--stat", "--", "contracts"])
        .context("the regenerated contracts differ from the committed ones: commit them if the change is intended")?;
    for entry in fs::read_dir(&dir)? {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            bail!(
                "contracts/ holds {}: only <consumer>-<provider>.json files belong there",
                path.display()
            );
        }
    }
    for provider in PROVIDERS {
        // Verification, the mutated-contract proof and the OpenAPI cross-check.
        run(
            "cargo",
            &["test", "-p", provider, "--test", "api", "contract::"],
        )?;
    }
    for (_, provider) in MESSAGE_CONTRACTS {
        run(
            "cargo",
            &[
                "test",
                "-p",
                provider,
                "--test",
                "api",
                "--",
                "message_contract::",
                "asyncapi::",
            ],
        )?;
    }
    summarise()?;
    summarise_message_contracts()
}

/// Deletes and regenerates the message contracts (see [`MESSAGE_CONTRACTS`]).
fn regenerate_message_contracts(dir: &std::path::Path) -> anyhow::Result<()> {
    for (consumer, provider) in MESSAGE_CONTRACTS {
        let file = dir.join(format!("{consumer}-{provider}.json"));
        if file.exists() {
            fs::remove_file(&file).with_context(|| format!("remove {}", file.display()))?;
        }
        run("cargo", &["test", "-p", consumer, "--test", "contracts"])?;
    }
    Ok(())
}

/// Prints the interactions of each message contract; fails on an empty one.
fn summarise_message_contracts() -> anyhow::Result<()> {
    for (consumer, provider) in MESSAGE_CONTRACTS {
        let name = format!("{consumer}-{provider}");
        let contract: Value = serde_json::from_str(&fs::read_to_string(
            root().join(format!("contracts/{name}.json")),
        )?)?;
        let report_path = root().join(format!("target/contract-reports/{name}.json"));
        let report: Value = serde_json::from_str(
            &fs::read_to_string(&report_path)
                .with_context(|| format!("read {}", report_path.display()))?,
        )?;
        let interactions = contract["interactions"].as_array().map_or(0, Vec::len);
        let verified = report["interactionResults"]
            .as_array()
            .map_or(0, |r| r.iter().filter(|i| i["result"] == "OK").count());
        println!(
            "  {name}: {interactions} message interactions, {verified} verified by {provider} (report: {})",
            report_path.display()
        );
        for interaction in contract["interactions"].as_array().into_iter().flatten() {
            println!(
                "    - {}",
                interaction["description"].as_str().unwrap_or("?")
            );
        }
        if verified != interactions || interactions == 0 {
            bail!("{name}: {verified} of {interactions} message interactions verified");
        }
    }
    Ok(())
}

/// Prints interactions per contract and what each provider's report says.
fn summarise() -> anyhow::Result<()> {
    println!("\ncontract cycle summary");
    for provider in PROVIDERS {
        let name = format!("{CONSUMER}-{provider}");
        let contract: Value = serde_json::from_str(&fs::read_to_string(
            root().join(format!("contracts/{name}.json")),
        )?)?;
        let report_path = root().join(format!("target/contract-reports/{name}.json"));
        let report: Value = serde_json::from_str(
            &fs::read_to_string(&report_path)
                .with_context(|| format!("read {}", report_path.display()))?,
        )?;
        let interactions = contract["interactions"].as_array().map_or(0, Vec::len);
        let verified = report["interactionResults"]
            .as_array()
            .map_or(0, |r| r.iter().filter(|i| i["result"] == "OK").count());
        println!(
            "  {name}: {interactions} interactions, {verified} verified (report: {})",
            report_path.display()
        );
        for interaction in contract["interactions"].as_array().into_iter().flatten() {
            println!(
                "    - {}",
                interaction["description"].as_str().unwrap_or("?")
            );
        }
        if verified != interactions || interactions == 0 {
            bail!("{name}: {verified} of {interactions} interactions verified");
        }
    }
    Ok(())
}
