//! Running commands from the workspace root, and the `test` and `images` tasks.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context, bail};

/// The workspace root (the parent of this crate's folder).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Tests passed and failed in every `cargo test` this process ran.
static PASSED: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);

/// Runs `program args…` in the workspace root, failing if it fails.
///
/// The output of `cargo test` is passed through and its `test result:` lines are counted.
pub fn run(program: &str, args: &[&str]) -> anyhow::Result<()> {
    println!("\n==> {program} {}", args.join(" "));
    let counting = program == "cargo" && args.first() == Some(&"test");
    let mut child = Command::new(program)
        .args(args)
        .current_dir(root())
        .env("PACT_DO_NOT_TRACK", "true")
        .stdout(if counting {
            Stdio::piped()
        } else {
            Stdio::inherit()
        })
        .spawn()
        .with_context(|| format!("could not start {program}"))?;
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines() {
            let line = line?;
            println!("{line}");
            count_results(&line);
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("`{program} {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Adds the counts of a libtest summary line (`test result: ok. 3 passed; 0 failed; …`).
fn count_results(line: &str) {
    let Some(rest) = line.strip_prefix("test result: ") else {
        return;
    };
    for part in rest.split(';') {
        let mut words = part.split_whitespace().rev();
        let (Some(kind), Some(n)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<usize>() else { continue };
        match kind {
            "passed" => PASSED.fetch_add(n, Ordering::Relaxed),
            "failed" => FAILED.fetch_add(n, Ordering::Relaxed),
            _ => 0,
        };
    }
}

/// Everything CI checks, in the order that fails fastest.
pub fn test_all() -> anyhow::Result<()> {
    let started = std::time::Instant::now();
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
    // The fault tests (kill -9, frozen providers, SIGTERM under load) run one at a time: their
    // latency checks assume the machine is not running other systems meanwhile.
    run(
        "cargo",
        &[
            "test",
            "-p",
            "system-tests",
            "--test",
            "faults",
            "--",
            "--test-threads=1",
            "--nocapture",
        ],
    )?;
    crate::compose::smoke()?;
    run("bash", &["scripts/ci-checks.sh"])?;
    println!(
        "\nxtask test: every check passed in {} s\ntests: {} passed, {} failed",
        started.elapsed().as_secs(),
        PASSED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed)
    );
    Ok(())
}

/// Makes the offline base images.
pub fn offline_images() -> anyhow::Result<()> {
    run("bash", &["docker/offline-images.sh"])
}
