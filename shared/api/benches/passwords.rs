//! Cost of one argon2id hash and one verification at the parameters registration and login use
//! (m = 19 MiB, t = 2, p = 1), as compiled by the profile the bench is built with:
//!
//! - `cargo bench -p dealpulse-api --bench passwords` — the bench profile, as `serve` runs it;
//! - `cargo bench -p dealpulse-api --bench passwords --profile release` — the size-optimised
//!   profile the Lambda bootstraps are built with (argon2 and blake2 keep opt-level 3 there).

use dealpulse_api::auth::passwords::{hash_password, verify_password};
use dealpulse_domain::account::Password;
use std::time::{Duration, Instant};

const RUNS: usize = 30;

fn quantile(sorted: &[Duration], q: f64) -> f64 {
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1000.0
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .build()?;
    let password = Password::parse("correct horse battery staple")?;
    let (mut hashes, mut verifies) = (Vec::new(), Vec::new());
    runtime.block_on(async {
        // One of each untimed: page the 19 MiB block in and start the blocking pool.
        let warm = hash_password(&password).await?;
        verify_password(password.expose(), &warm).await;
        for _ in 0..RUNS {
            let started = Instant::now();
            let hash = hash_password(&password).await?;
            hashes.push(started.elapsed());
            let started = Instant::now();
            assert!(verify_password(password.expose(), &hash).await);
            verifies.push(started.elapsed());
        }
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    hashes.sort();
    verifies.sort();
    println!("| Operation | Runs | p50 | p99 |");
    println!("|---|---|---|---|");
    for (name, runs) in [("hash", &hashes), ("verify", &verifies)] {
        println!(
            "| {name} | {RUNS} | {:.1} ms | {:.1} ms |",
            quantile(runs, 0.5),
            quantile(runs, 0.99)
        );
    }
    Ok(())
}
