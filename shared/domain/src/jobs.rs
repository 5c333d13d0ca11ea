//! What the background jobs (scrape, match, digest) tell the system health view: runs and errors
//! per day, and when each last ran and last failed — counters and kept extremes, so a job run
//! costs a few atomic writes and the health view one read.

use crate::analytics::Extreme;
use crate::counters::{utc_day, CounterBucket, CounterKey, CounterRepository};
use crate::ports::StoreError;
use jiff::{SignedDuration, Timestamp};

/// The jobs whose runs are recorded.
pub const JOBS: [&str; 3] = ["scrape", "match", "digest"];

fn name(job: &str, field: &str) -> String {
    format!("jobs.{job}.{field}")
}

/// Records one run of `job` that met `errors` failures (0 for a clean run).
pub async fn note_run(
    counters: &dyn CounterRepository,
    job: &str,
    errors: u32,
    now: Timestamp,
) -> Result<(), StoreError> {
    let day = CounterBucket::day(utc_day(now));
    let mut adds = vec![
        (CounterKey::new(name(job, "runs"), day.clone()), 1),
        (CounterKey::total(name(job, "runs")), 1),
    ];
    let mut extremes = vec![(
        CounterKey::total(name(job, "last_run")),
        Extreme::Highest,
        now.as_second(),
    )];
    if errors > 0 {
        adds.push((CounterKey::new(name(job, "errors"), day), i64::from(errors)));
        extremes.push((
            CounterKey::total(name(job, "last_error")),
            Extreme::Highest,
            now.as_second(),
        ));
    }
    counters.add_counts(&adds).await?;
    counters.keep_extremes(&extremes).await
}

/// One job's recent record.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobHealth {
    pub job: &'static str,
    pub last_run_at: Option<Timestamp>,
    pub last_error_at: Option<Timestamp>,
    /// Runs and errors today and yesterday (UTC).
    pub runs_2d: i64,
    pub errors_2d: i64,
    pub runs_total: i64,
}

/// Every job's record, from one counter read.
pub async fn job_health(
    counters: &dyn CounterRepository,
    now: Timestamp,
) -> Result<Vec<JobHealth>, StoreError> {
    let today = utc_day(now);
    let yesterday = utc_day(
        now.saturating_sub(SignedDuration::from_hours(24))
            .unwrap_or(now),
    );
    let days = [CounterBucket::day(yesterday), CounterBucket::day(today)];
    let mut keys = Vec::new();
    for job in JOBS {
        keys.push(CounterKey::total(name(job, "last_run")));
        keys.push(CounterKey::total(name(job, "last_error")));
        keys.push(CounterKey::total(name(job, "runs")));
        for day in &days {
            keys.push(CounterKey::new(name(job, "runs"), day.clone()));
            keys.push(CounterKey::new(name(job, "errors"), day.clone()));
        }
    }
    let values = counters.counts(&keys).await?;
    let at = |seconds: i64| {
        (seconds > 0)
            .then(|| Timestamp::from_second(seconds).ok())
            .flatten()
    };
    Ok(JOBS
        .iter()
        .zip(values.chunks(7))
        .map(|(job, row)| JobHealth {
            job,
            last_run_at: at(row[0]),
            last_error_at: at(row[1]),
            runs_total: row[2],
            runs_2d: row[3] + row[5],
            errors_2d: row[4] + row[6],
        })
        .collect())
}
