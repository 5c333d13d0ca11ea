//! How and when a user wants to hear about deals: channels, digest frequency, quiet hours and a
//! daily cap. Timezone and language are the account's (one source of truth, see `User`).

use crate::account::InvalidValue;
use crate::ids::UserId;
use crate::listing::{vocabulary, Category};
use jiff::civil::{Time, Weekday};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

vocabulary!(
    /// A way to reach the user.
    Channel {
        Email => "email",
        Discord => "discord",
        Slack => "slack",
        Webhook => "webhook",
        Sms => "sms",
        Push => "push",
    }
);

vocabulary!(
    /// How often alerts go out: as they happen, or gathered into a digest.
    Frequency {
        Immediate => "immediate",
        Daily => "daily",
        Weekly => "weekly",
    }
);

vocabulary!(
    /// Day of the week a weekly digest goes out.
    DigestWeekday {
        Monday => "monday",
        Tuesday => "tuesday",
        Wednesday => "wednesday",
        Thursday => "thursday",
        Friday => "friday",
        Saturday => "saturday",
        Sunday => "sunday",
    }
);

impl DigestWeekday {
    pub fn weekday(&self) -> Weekday {
        match self {
            DigestWeekday::Monday => Weekday::Monday,
            DigestWeekday::Tuesday => Weekday::Tuesday,
            DigestWeekday::Wednesday => Weekday::Wednesday,
            DigestWeekday::Thursday => Weekday::Thursday,
            DigestWeekday::Friday => Weekday::Friday,
            DigestWeekday::Saturday => Weekday::Saturday,
            DigestWeekday::Sunday => Weekday::Sunday,
        }
    }
}

/// A local wall-clock time written `HH:MM` (24-hour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct LocalTime(Time);

impl LocalTime {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        let bad = InvalidValue("times are written HH:MM, 00:00 to 23:59");
        let (hour, minute) = raw.trim().split_once(':').ok_or(bad.clone())?;
        if hour.len() != 2 || minute.len() != 2 {
            return Err(bad);
        }
        let hour: i8 = hour.parse().map_err(|_| bad.clone())?;
        let minute: i8 = minute.parse().map_err(|_| bad.clone())?;
        Time::new(hour, minute, 0, 0).map(Self).map_err(|_| bad)
    }

    pub fn time(&self) -> Time {
        self.0
    }
}

impl fmt::Display for LocalTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0.hour(), self.0.minute())
    }
}

impl TryFrom<String> for LocalTime {
    type Error = InvalidValue;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<LocalTime> for String {
    fn from(value: LocalTime) -> Self {
        value.to_string()
    }
}

/// A daily window, in the user's local time, when nothing is sent (alerts wait for its end).
/// `start > end` crosses midnight: 22:00–07:00 covers 23:30 and 06:59 but not 07:00.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "QuietHoursJson", into = "QuietHoursJson")]
pub struct QuietHours {
    start: LocalTime,
    end: LocalTime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuietHoursJson {
    pub start: LocalTime,
    pub end: LocalTime,
}

impl TryFrom<QuietHoursJson> for QuietHours {
    type Error = InvalidValue;
    fn try_from(value: QuietHoursJson) -> Result<Self, Self::Error> {
        QuietHours::new(value.start, value.end)
    }
}

impl From<QuietHours> for QuietHoursJson {
    fn from(value: QuietHours) -> Self {
        QuietHoursJson {
            start: value.start,
            end: value.end,
        }
    }
}

impl QuietHours {
    pub fn new(start: LocalTime, end: LocalTime) -> Result<Self, InvalidValue> {
        if start == end {
            return Err(InvalidValue(
                "quiet hours need different start and end times",
            ));
        }
        Ok(Self { start, end })
    }

    pub fn start(&self) -> LocalTime {
        self.start
    }
    pub fn end(&self) -> LocalTime {
        self.end
    }

    pub fn crosses_midnight(&self) -> bool {
        self.start > self.end
    }

    /// Whether the local time falls inside the window (start inclusive, end exclusive).
    pub fn contains(&self, local: Time) -> bool {
        let (start, end) = (self.start.time(), self.end.time());
        if self.crosses_midnight() {
            local >= start || local < end
        } else {
            local >= start && local < end
        }
    }
}

/// The user's notification preferences. Created with defaults on first read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotificationPreferences {
    pub owner: UserId,
    pub channels: BTreeSet<Channel>,
    pub frequency: Frequency,
    /// Local hour (0–23) at which daily and weekly digests go out.
    pub digest_hour: u8,
    pub digest_weekday: DigestWeekday,
    pub quiet_hours: Option<QuietHours>,
    /// At most this many immediate alerts a day; the rest go into the next digest.
    pub max_alerts_per_day: Option<u16>,
    /// Only alerts in these categories (empty: all).
    pub categories: BTreeSet<Category>,
    /// Deal links in alerts go through the tracked redirect (savings on the dashboard); off,
    /// they lead straight to the deal and nothing is recorded.
    #[serde(default = "tracking_on")]
    pub click_tracking: bool,
    pub updated_at: Timestamp,
    pub version: u64,
}

fn tracking_on() -> bool {
    true
}

impl NotificationPreferences {
    pub const MAX_ALERTS_PER_DAY: u16 = 1000;

    pub fn defaults(owner: UserId, now: Timestamp) -> Self {
        Self {
            owner,
            channels: BTreeSet::from([Channel::Email]),
            frequency: Frequency::Immediate,
            digest_hour: 8,
            digest_weekday: DigestWeekday::Monday,
            quiet_hours: None,
            max_alerts_per_day: None,
            categories: BTreeSet::new(),
            click_tracking: true,
            updated_at: now,
            version: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hours(start: &str, end: &str) -> QuietHours {
        QuietHours::new(
            LocalTime::parse(start).unwrap(),
            LocalTime::parse(end).unwrap(),
        )
        .unwrap()
    }

    fn at(text: &str) -> Time {
        LocalTime::parse(text).unwrap().time()
    }

    #[test]
    fn quiet_hours_crossing_midnight_cover_both_sides() {
        let night = hours("22:00", "07:00");
        assert!(night.crosses_midnight());
        for inside in ["22:00", "23:59", "00:00", "06:59"] {
            assert!(night.contains(at(inside)), "{inside}");
        }
        for outside in ["07:00", "12:00", "21:59"] {
            assert!(!night.contains(at(outside)), "{outside}");
        }
        let lunch = hours("12:00", "13:30");
        assert!(lunch.contains(at("12:45")) && !lunch.contains(at("13:30")));
    }

    #[test]
    fn times_are_strict() {
        for bad in ["24:00", "7:00", "07:60", "0700", "", "07:00:00"] {
            assert!(LocalTime::parse(bad).is_err(), "{bad}");
        }
        assert!(QuietHours::new(
            LocalTime::parse("08:00").unwrap(),
            LocalTime::parse("08:00").unwrap()
        )
        .is_err());
    }
}
