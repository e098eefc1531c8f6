//! Running commands from the workspace root, and the `test` and `images` tasks.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, bail};

/// The workspace root (the parent of this crate's folder).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Runs `program args…` in the workspace root, failing if it fails.
pub fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    println!("\n==> {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .current_dir(root())
        .env("PACT_DO_NOT_TRACK", "true")
        .status()
        .with_context(|| format!("could not start {program}"))?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Everything CI checks, in the order that fails fastest.
pub fn test_all() -> anyhow::Result<()> {
    run("cargo", &["fmt", "--all", "--check"])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
    )?;
    // Unit and API tests of every crate. The contract binaries run in the cycle below, in
    // the order the cycle needs (consumer before providers).
    run(
        "cargo",
        &["test", "--workspace", "--lib", "--bins", "--test", "api"],
    )?;
    crate::contracts::cycle()?;
    crate::compose::build_images()?;
    run(
        "cargo",
        &["test", "-p", "system-tests", "--test", "containers"],
    )?;
    crate::compose::smoke()?;
    run("bash", &["scripts/ci-checks.sh"])?;
    println!("\nxtask test: every check passed");
    Ok(())
}

/// Makes the offline base images.
pub fn offline_images() -> anyhow::Result<()> {
    run("bash", &["docker/offline-images.sh"])
}
