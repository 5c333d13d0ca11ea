//! Deal reports: users flag a listing as a wrong price, expired or spam; administrators work
//! them as tickets (open / closed, bulk updates). A report closed as *confirmed* hides its
//! listing: the matcher no longer alerts on it and the deal views leave it out.

use crate::ids::{ListingId, UserId};
use crate::ports::StoreError;
use crate::records::{records, DocumentRepository};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportReason {
    WrongPrice,
    Expired,
    Spam,
}

impl ReportReason {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "wrong_price" => Some(Self::WrongPrice),
            "expired" => Some(Self::Expired),
            "spam" => Some(Self::Spam),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::WrongPrice => "wrong_price",
            Self::Expired => "expired",
            Self::Spam => "spam",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportStatus {
    Open,
    Closed,
}

impl ReportStatus {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "open" => Some(Self::Open),
            "closed" => Some(Self::Closed),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
        }
    }
}

/// How a closed report ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// The report was right: the listing is hidden.
    Confirmed,
    /// Nothing wrong with the deal.
    Rejected,
}

impl Resolution {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "confirmed" => Some(Self::Confirmed),
            "rejected" => Some(Self::Rejected),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Rejected => "rejected",
        }
    }
}

/// The free text a reporter or administrator may add: trimmed, at most 1,000 characters, no
/// control characters other than line breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReportNote(String);

impl ReportNote {
    pub const MAX_CHARS: usize = 1_000;

    pub fn parse(raw: &str) -> Result<Option<Self>, &'static str> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Ok(None);
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err("at most 1000 characters");
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
        {
            return Err("no control characters");
        }
        Ok(Some(Self(trimmed.to_string())))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One user's report of one listing (a user reports a listing once; the key says so). Stored
/// under the system owner so administrators list them together.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealReport {
    pub owner: UserId,
    /// `<listing id>:<reporter id>`.
    pub key: String,
    pub listing: ListingId,
    pub reporter: UserId,
    pub reason: ReportReason,
    pub note: Option<ReportNote>,
    /// The listing as reported (title, price, link), so the ticket reads well after it changes.
    pub title: String,
    pub url: String,
    pub price: String,
    pub status: ReportStatus,
    pub resolution: Option<Resolution>,
    pub admin_note: Option<ReportNote>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub closed_by: Option<UserId>,
    pub version: u64,
}
crate::keyed_record!(DealReport, "deal_report");

impl DealReport {
    pub fn key_of(listing: ListingId, reporter: UserId) -> String {
        format!("{listing}:{reporter}")
    }
}

/// A listing taken out of matching and deal views by a confirmed report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HiddenListing {
    pub owner: UserId,
    /// The listing id.
    pub key: String,
    /// The confirmed reports that hide it; the listing shows again when none is left.
    pub reports: Vec<String>,
    pub hidden_at: Timestamp,
    pub version: u64,
}
crate::keyed_record!(HiddenListing, "hidden_listing");

/// Is this listing hidden by a confirmed report?
pub async fn is_hidden(
    documents: &dyn DocumentRepository,
    listing: ListingId,
) -> Result<bool, StoreError> {
    Ok(records::<HiddenListing>(documents)
        .get(UserId::system(), &listing.to_string())
        .await?
        .is_some_and(|hidden| !hidden.reports.is_empty()))
}

/// Every listing a confirmed report hides, in one read, for lists that filter many listings
/// (the same records and rule as [`is_hidden`]).
pub async fn hidden_listings(
    documents: &dyn DocumentRepository,
) -> Result<std::collections::HashSet<ListingId>, StoreError> {
    Ok(records::<HiddenListing>(documents)
        .list(UserId::system())
        .await?
        .into_iter()
        .filter(|hidden| !hidden.reports.is_empty())
        .filter_map(|hidden| hidden.key.parse().ok())
        .collect())
}

/// Brings the listing's hidden state in line with one report's new state: a confirmed closed
/// report hides it, any other state releases that report's hold.
pub async fn apply_report(
    documents: &dyn DocumentRepository,
    report: &DealReport,
    now: Timestamp,
) -> Result<(), StoreError> {
    let hides =
        report.status == ReportStatus::Closed && report.resolution == Some(Resolution::Confirmed);
    let hidden = records::<HiddenListing>(documents);
    let key = report.listing.to_string();
    let stored = hidden
        .modify(
            UserId::system(),
            &key,
            || HiddenListing {
                owner: UserId::system(),
                key: key.clone(),
                reports: Vec::new(),
                hidden_at: now,
                version: 0,
            },
            |record| {
                let held = record.reports.contains(&report.key);
                match (hides, held) {
                    (true, false) => {
                        if record.reports.is_empty() {
                            record.hidden_at = now;
                        }
                        record.reports.push(report.key.clone());
                        true
                    }
                    (false, true) => {
                        record.reports.retain(|held| *held != report.key);
                        true
                    }
                    _ => false,
                }
            },
        )
        .await?;
    if stored.reports.is_empty() && stored.version > 0 {
        // Released by every report: gone, so the listing shows again.
        match hidden
            .delete(UserId::system(), &key, Some(stored.version))
            .await
        {
            Ok(()) | Err(StoreError::NotFound) | Err(StoreError::Stale) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_trimmed_bounded_and_free_of_control_characters() {
        assert_eq!(ReportNote::parse("   "), Ok(None));
        assert_eq!(
            ReportNote::parse(" price is $9, not $90 \n")
                .unwrap()
                .unwrap()
                .as_str(),
            "price is $9, not $90"
        );
        assert!(ReportNote::parse(&"x".repeat(1_001)).is_err());
        assert!(ReportNote::parse(&"é".repeat(1_000)).unwrap().is_some());
        assert!(ReportNote::parse("bell\u{7}").is_err());
    }

    #[test]
    fn reasons_statuses_and_resolutions_round_trip() {
        for reason in [
            ReportReason::WrongPrice,
            ReportReason::Expired,
            ReportReason::Spam,
        ] {
            assert_eq!(ReportReason::parse(reason.as_str()), Some(reason));
        }
        assert_eq!(ReportReason::parse("WRONG_PRICE"), None);
        for status in [ReportStatus::Open, ReportStatus::Closed] {
            assert_eq!(ReportStatus::parse(status.as_str()), Some(status));
        }
        for resolution in [Resolution::Confirmed, Resolution::Rejected] {
            assert_eq!(Resolution::parse(resolution.as_str()), Some(resolution));
        }
    }
}
