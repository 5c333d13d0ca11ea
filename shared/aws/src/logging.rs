//! Logging set up the way Lambda's advanced logging controls expect, without `EnvFilter`.
//!
//! `lambda_runtime`'s default subscriber builds an `EnvFilter`, which links the `regex` engine
//! (≈ 150 KB of every bootstrap) to read per-target directives nobody sets on a function. A
//! level is all a function's configuration gives, so a level filter does the same job.

use tracing_subscriber::filter::LevelFilter;

/// `AWS_LAMBDA_LOG_LEVEL`, else `RUST_LOG`, as one level (INFO when unset or not a plain level);
/// JSON lines when `AWS_LAMBDA_LOG_FORMAT` is `JSON`, else the plain format.
pub fn init_lambda_logging() {
    let level = level_of(
        std::env::var("AWS_LAMBDA_LOG_LEVEL")
            .or_else(|_| std::env::var("RUST_LOG"))
            .ok()
            .as_deref(),
    );
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let logs = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_max_level(level);
    // `try_init`: a second call (tests) keeps the first subscriber instead of panicking.
    let _already_set = if json {
        logs.json().try_init()
    } else {
        logs.try_init()
    };
}

fn level_of(setting: Option<&str>) -> LevelFilter {
    // Blank is unset (tracing itself reads "" as ERROR).
    setting
        .map(str::trim)
        .filter(|text| !text.is_empty())
        .and_then(|text| text.parse().ok())
        .unwrap_or(LevelFilter::INFO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_level_in_any_case_is_used_and_anything_else_means_info() {
        assert_eq!(level_of(Some("DEBUG")), LevelFilter::DEBUG);
        assert_eq!(level_of(Some("warn")), LevelFilter::WARN);
        assert_eq!(level_of(Some(" error ")), LevelFilter::ERROR);
        assert_eq!(level_of(Some("off")), LevelFilter::OFF);
        assert_eq!(level_of(Some("my_crate=debug")), LevelFilter::INFO);
        assert_eq!(level_of(Some("")), LevelFilter::INFO);
        assert_eq!(level_of(None), LevelFilter::INFO);
    }
}
