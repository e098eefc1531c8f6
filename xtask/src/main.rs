//! Project tasks that need more than one cargo command. `cargo xtask help` lists them.

mod bench;
mod compose;
mod contracts;
mod run;

use std::process::ExitCode;

const HELP: &str = "\
cargo xtask <task>

  test        everything CI checks: fmt, clippy, all tests, the contract cycle, the
              service images, the container tests, a compose smoke test, and the
              offline workflow/manifest checks (the README's one test command)
  contracts   the contract cycle: regenerate order-service's contracts and the
              message contracts (notification-service's), fail if they
              differ from the committed ones, verify both providers, cross-check the
              contracts against each provider's openapi.json, write reports
  bench       start Postgres and release builds of the three services, load them with
              wrk, print orders/s, latency percentiles, errors and peak RSS
  images      make the offline base images (docker/offline-images.sh)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => run::test_all(),
        Some("contracts") => contracts::cycle(),
        Some("bench") => bench::run(&args[1..]),
        Some("images") => run::offline_images(),
        Some("help") | None => {
            print!("{HELP}");
            Ok(())
        }
        Some(other) => Err(anyhow::anyhow!("unknown task {other:?}\n\n{HELP}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}
