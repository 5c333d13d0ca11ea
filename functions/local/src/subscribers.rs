//! `dealpulse subscribers import FILE.csv`: imports newsletter subscribers into the local
//! database, streaming the file in fixed-size chunks (memory stays flat whatever its size),
//! drawing a progress bar on stderr and writing a per-row report beside it.

use dealpulse_domain::clock::Clock;
use dealpulse_domain::ports::Store;
use dealpulse_domain::subscribers::{split_csv_record, Importer, Line, LineSplitter, RowOutcome};
use serde::Serialize;
use std::io::{IsTerminal, Read, Write};
use std::path::Path;
use std::time::{Duration, Instant};

/// What an import did, printed as JSON at the end.
#[derive(Debug, Serialize)]
pub struct ImportSummary {
    pub rows: u64,
    pub imported: u64,
    pub duplicate: u64,
    pub invalid: u64,
    pub seconds: f64,
    pub rows_per_second: u64,
    /// Peak resident memory of the process (Linux `VmHWM`), when known.
    pub peak_rss_kib: Option<u64>,
    pub report: String,
}

/// Draws `[#####-----]  52%  52,000 rows · …` over itself on a terminal, or a line per 10% when
/// stderr is a file or a pipe.
struct Progress {
    total_bytes: u64,
    started: Instant,
    last_drawn: Instant,
    last_tenth: u64,
    last_rows: u64,
    terminal: bool,
}

impl Progress {
    fn new(total_bytes: u64) -> Self {
        let now = Instant::now();
        Self {
            total_bytes: total_bytes.max(1),
            started: now,
            last_drawn: now,
            last_tenth: 0,
            last_rows: 0,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    fn show(&mut self, bytes: u64, importer: &Importer<'_>, finished: bool) {
        let fraction = (bytes as f64 / self.total_bytes as f64).min(1.0);
        let tenth = (fraction * 10.0) as u64;
        let due = if self.terminal {
            finished || self.last_drawn.elapsed() >= Duration::from_millis(100)
        } else {
            tenth > self.last_tenth || (finished && importer.totals.rows != self.last_rows)
        };
        if !due {
            return;
        }
        self.last_drawn = Instant::now();
        self.last_tenth = tenth;
        self.last_rows = importer.totals.rows;
        let totals = &importer.totals;
        let elapsed = self.started.elapsed().as_secs_f64().max(0.001);
        let width = 30;
        let filled = (fraction * width as f64) as usize;
        let line = format!(
            "[{}{}] {:>3}%  {} rows · {} imported · {} duplicate · {} invalid · {:.0} rows/s",
            "#".repeat(filled),
            "-".repeat(width - filled),
            (fraction * 100.0) as u64,
            totals.rows,
            totals.imported,
            totals.duplicate,
            totals.invalid,
            totals.rows as f64 / elapsed
        );
        let mut stderr = std::io::stderr().lock();
        // Progress is a courtesy: a closed stderr does not stop the import.
        let _ = if self.terminal {
            write!(stderr, "\r{line}{}", if finished { "\n" } else { "" })
        } else {
            writeln!(stderr, "{line}")
        };
    }
}

/// One report row: `line,result,reason,email` (CSV-escaped).
fn report_row(number: u64, outcome: &RowOutcome, raw: &str) -> String {
    let email = split_csv_record(raw)
        .ok()
        .and_then(|fields| fields.into_iter().next())
        .unwrap_or_else(|| raw.chars().take(254).collect());
    format!(
        "{number},{},{},{}\n",
        outcome.label(),
        csv_field(&outcome.reason()),
        csv_field(email.trim())
    )
}

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// Imports `file` into `store`, writing every row's outcome to `report`.
pub async fn import(
    store: &dyn Store,
    clock: &dyn Clock,
    file: &Path,
    report: &Path,
) -> anyhow::Result<ImportSummary> {
    let mut input = std::fs::File::open(file)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", file.display()))?;
    let total_bytes = input.metadata().map(|m| m.len()).unwrap_or(0);
    let mut output = std::io::BufWriter::new(
        std::fs::File::create(report)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", report.display()))?,
    );
    output.write_all(b"line,result,reason,email\n")?;
    let mut importer = Importer::new(store, store, clock.now());
    let mut progress = Progress::new(total_bytes);
    let mut lines = LineSplitter::default();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut number = 0u64;
    let mut read_bytes = 0u64;
    loop {
        let read = input.read(&mut chunk)?;
        let finished = read == 0;
        let completed = if finished {
            lines.finish().into_iter().collect()
        } else {
            lines.push(&chunk[..read])
        };
        read_bytes += read as u64;
        for line in completed {
            number += 1;
            let raw = match &line {
                Line::Text(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                Line::TooLong => String::new(),
            };
            let outcome = match importer.line(number, line).await {
                Ok(outcome) => outcome,
                Err(error) => {
                    importer.flush().await;
                    output.flush()?;
                    anyhow::bail!(
                        "the store failed at line {number} ({error}); the lines before are imported and in {}",
                        report.display()
                    );
                }
            };
            if let Some(outcome) = outcome.filter(|o| *o != RowOutcome::Header) {
                output.write_all(report_row(number, &outcome, &raw).as_bytes())?;
            }
        }
        progress.show(read_bytes, &importer, finished);
        if finished {
            break;
        }
    }
    importer.flush().await;
    output.flush()?;
    let seconds = progress.started.elapsed().as_secs_f64();
    let totals = importer.totals.clone();
    Ok(ImportSummary {
        rows: totals.rows,
        imported: totals.imported,
        duplicate: totals.duplicate,
        invalid: totals.invalid,
        seconds: (seconds * 100.0).round() / 100.0,
        rows_per_second: (totals.rows as f64 / seconds.max(0.001)) as u64,
        peak_rss_kib: peak_rss_kib(),
        report: report.display().to_string(),
    })
}

fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
