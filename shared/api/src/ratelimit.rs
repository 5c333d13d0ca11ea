//! Fixed-window rate limiting over the store's shared counters, so a limit holds across every
//! process and Lambda container using the same store.

use crate::problem::{ApiError, RateLimitInfo};
use crate::state::{Core, Limit};
use dealpulse_domain::secret::TokenHash;
use jiff::Timestamp;

/// Counts one hit of `subject` (an IP, an e-mail) in `scope` and refuses it when over `limit`.
/// Subjects are hashed so counters never hold e-mail addresses.
pub async fn enforce(
    core: &Core,
    scope: &str,
    subject: &str,
    limit: Limit,
) -> Result<RateLimitInfo, ApiError> {
    let now = core.clock.now().as_second();
    let window = limit.window_secs.max(1) as i64;
    let window_start = now - now.rem_euclid(window);
    let window_end = window_start + window;
    let key = format!("{scope}:{}", &TokenHash::of(subject).as_str()[..32]);
    let to_timestamp = |second: i64| Timestamp::from_second(second).map_err(ApiError::internal);
    let count = core
        .store
        .count_hit(
            &key,
            to_timestamp(window_start)?,
            to_timestamp(window_end + 3600)?,
        )
        .await?;
    let info = RateLimitInfo {
        limit: limit.max,
        remaining: limit.max.saturating_sub(count),
        reset_secs: (window_end - now).max(0) as u64,
    };
    if count > limit.max {
        tracing::info!(scope, "rate limit exceeded");
        return Err(ApiError::RateLimited(info));
    }
    Ok(info)
}
