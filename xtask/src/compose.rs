//! Service images and the compose smoke test: up, healthy, the seed curl, down, up, the order
//! is still there, Swagger UIs answer, down.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::run::{root, run};

/// The compose project the smoke test uses, so that its `down -v` never touches the volumes
/// of a system a developer runs from the same folder.
const PROJECT: &str = "shop-smoke";

/// `docker compose` (v2) where present, else `docker-compose` (1.29), with the project name.
fn compose() -> (&'static str, Vec<&'static str>) {
    let v2 = Command::new("docker")
        .args(["compose", "version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if v2 {
        ("docker", vec!["compose", "-p", PROJECT])
    } else {
        ("docker-compose", vec!["-p", PROJECT])
    }
}

fn compose_run(args: &[&str]) -> anyhow::Result<()> {
    let (program, mut all) = compose();
    all.extend_from_slice(args);
    run(program, &all)
}

/// Builds the service images as compose names them (`shop/<service>:dev`).
///
/// With `BUILD_TARGET=prebuilt` (the offline path) the release binaries are built here first.
pub fn build_images() -> anyhow::Result<()> {
    if std::env::var("BUILD_TARGET").as_deref() == Ok("prebuilt") {
        run(
            "cargo",
            &[
                "build",
                "--release",
                "--locked",
                "-p",
                "user-service",
                "-p",
                "product-service",
                "-p",
                "order-service",
                "-p",
                "notification-service",
            ],
        )?;
    }
    compose_run(&["build"])
}

/// The compose smoke test; prints time to healthy and idle memory per container.
pub fn smoke() -> anyhow::Result<()> {
    compose_run(&["down", "-v", "--remove-orphans"])?;
    let result = smoke_steps();
    let cleanup = compose_run(&["down", "-v", "--remove-orphans"]);
    result.and(cleanup)
}

fn smoke_steps() -> anyhow::Result<()> {
    let started = Instant::now();
    compose_run(&["up", "-d"])?;
    wait_healthy(Duration::from_secs(180))?;
    println!(
        "compose: all containers healthy {:.1} s after `up`",
        started.elapsed().as_secs_f64()
    );
    let order = seed_curl()?;
    let id = order["id"]
        .as_str()
        .context("the order has an id")?
        .to_owned();
    println!("compose: seed curl answered 201, order {id}");
    for port in [5001, 5002, 5003, 5004] {
        let status = curl_status(&format!("http://127.0.0.1:{port}/swagger-ui/"))?;
        if status != 200 {
            bail!("Swagger UI on port {port} answered {status}");
        }
    }
    std::thread::sleep(Duration::from_secs(3));
    run(
        "docker",
        &[
            "stats",
            "--no-stream",
            "--format",
            "table {{.Name}}\t{{.MemUsage}}",
        ],
    )?;
    compose_run(&["down"])?;
    compose_run(&["up", "-d"])?;
    wait_healthy(Duration::from_secs(180))?;
    let status = curl_status(&format!("http://127.0.0.1:5003/orders/{id}"))?;
    if status != 200 {
        bail!("order {id} did not survive `down` and `up`: GET answered {status}");
    }
    println!("compose: order {id} survived down and up");
    Ok(())
}

fn container_ids() -> anyhow::Result<Vec<String>> {
    let (program, mut args) = compose();
    args.extend_from_slice(&["ps", "-q"]);
    let out = Command::new(program)
        .args(&args)
        .current_dir(root())
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect())
}

fn wait_healthy(limit: Duration) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        let ids = container_ids()?;
        let mut states = Vec::new();
        for id in &ids {
            let out = Command::new("docker")
                .args(["inspect", "--format", "{{.Name}} {{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}", id])
                .output()?;
            states.push(String::from_utf8_lossy(&out.stdout).trim().to_owned());
        }
        // postgres, nats and the four services.
        if ids.len() == 6 && states.iter().all(|s| s.ends_with(" healthy")) {
            return Ok(());
        }
        if started.elapsed() > limit {
            let _ = compose_run(&["logs", "--tail", "50"]);
            bail!("not all containers became healthy within {limit:?}: {states:?}");
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn seed_curl() -> anyhow::Result<Value> {
    let out = Command::new("curl")
        .args([
            "-s",
            "-w",
            "\n%{http_code}",
            "-X",
            "POST",
            "http://localhost:5003/orders",
            "-H",
            "Content-Type: application/json",
            "-d",
            r#"{"user_id": 1, "product_id": 101, "quantity": 1}"#,
        ])
        .output()
        .context("run curl")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (body, status) = text.rsplit_once('\n').context("curl printed a status")?;
    if status != "201" {
        bail!("the seed curl answered {status}: {body}");
    }
    Ok(serde_json::from_str(body)?)
}

fn curl_status(url: &str) -> anyhow::Result<u16> {
    let out = Command::new("curl")
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}", url])
        .output()?;
    Ok(String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or(0))
}
