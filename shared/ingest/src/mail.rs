//! Deal newsletters by e-mail: one received message → its record, and the flight deals in it
//! → listings. The same code runs for SES → S3 → `ingest-email` on AWS and for the CLI, the
//! maildrop folder and the admin route locally.
//!
//! Every message gets an [`InboundMail`] record whatever happens to it (unparseable, unknown
//! address, sender not allowed, spam, no deals), pointing at the raw message, which the caller
//! keeps; so nothing received is ever lost, and administrators can see why a mail did nothing.

use crate::llm::{Extractor, LlmExtractor};
use dealpulse_domain::clock::Clock;
use dealpulse_domain::events::{CatalogEvent, EventPublisher, PublishError};
use dealpulse_domain::ids::{ListingId, UserId};
use dealpulse_domain::inbound::{
    sender_allowed, InboundAddresses, InboundMail, InboundSettings, MailStatus, Recipient,
    SenderRule,
};
use dealpulse_domain::listing::{Cabin, Category, FlightOffer, Listing, SourceName};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::net::{PublicUrl, Schemes};
use dealpulse_domain::ports::{Store, StoreError};
use dealpulse_domain::records::records;
use dealpulse_extract::newsletter::{flight_deals, parse_mail, FlightDeal};
use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct MailConfig {
    pub addresses: InboundAddresses,
    /// Who may send to the system address; empty means nobody.
    pub system_senders: Vec<SenderRule>,
}

#[derive(Debug, thiserror::Error)]
pub enum MailIngestError {
    #[error("store: {0}")]
    Store(#[from] StoreError),
    #[error("events: {0}")]
    Events(#[from] PublishError),
}

pub struct MailIngest {
    store: Arc<dyn Store>,
    events: Arc<dyn EventPublisher>,
    clock: Arc<dyn Clock>,
    config: MailConfig,
    llm: Option<LlmExtractor>,
}

/// The listing source of mail from `sender`: `mail-` and the sender's domain.
fn source_of(sender: &str) -> Option<SourceName> {
    let domain = sender.rsplit_once('@')?.1;
    let name: String = format!("mail-{}", domain.replace('.', "-"))
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(40)
        .collect();
    SourceName::parse(name.trim_end_matches('-')).ok()
}

/// The first day of the first travel month still ahead (this year or next); a month out when
/// the deal names none.
fn departure(months: &[u8], today: Date) -> Date {
    let Some(&month) = months.first() else {
        return today.checked_add(30.days()).unwrap_or(today);
    };
    let year = if i8::try_from(month).unwrap_or(1) >= today.month() {
        today.year()
    } else {
        today.year().saturating_add(1)
    };
    Date::new(year, i8::try_from(month).unwrap_or(1), 1).unwrap_or(today)
}

/// A deal as a listing, or why it cannot be one.
pub fn listing_from_deal(
    deal: &FlightDeal,
    source: &SourceName,
    sender_domain: &str,
    received: Timestamp,
    audience: Option<UserId>,
) -> Result<Listing, String> {
    let origin = deal.origin.first().ok_or("no origin airport")?;
    let destination = deal.destination.first().ok_or("no destination airport")?;
    let currency = deal
        .currency
        .as_deref()
        .and_then(|c| Currency::parse(c).ok())
        .ok_or_else(|| format!("no currency for {}", deal.price))?;
    let price = Money::parse(&deal.price, currency).map_err(|e| e.0.to_string())?;
    let today = received.to_zoned(jiff::tz::TimeZone::UTC).date();
    let depart_on = departure(&deal.months, today);
    let round_trip = deal.trip_type == Some("round_trip");
    let url = deal
        .link
        .as_deref()
        .and_then(|link| PublicUrl::parse(link, Schemes::HttpOrHttps).ok())
        .map(|u| u.as_str().to_string())
        .unwrap_or_else(|| format!("https://{sender_domain}/"));
    let trip = if round_trip { "round trip" } else { "one way" };
    let title: String = format!(
        "{} ({origin}) to {} ({destination}), {price}, {trip}",
        deal.origin_name, deal.destination_name
    )
    .chars()
    .take(300)
    .collect();
    let mut description = deal.source_line.clone();
    if let Some(airline) = &deal.airline {
        description.push_str(&format!(" — {airline}"));
    }
    if deal.stops.is_none() {
        description.push_str(" (stops not stated)");
    }
    Ok(Listing {
        id: ListingId::derived(
            source.as_str(),
            &format!(
                "{origin}-{destination}-{}-{:?}-{trip}-{url}",
                price, deal.months
            ),
        ),
        source: source.clone(),
        url,
        title,
        description: description.chars().take(2000).collect(),
        price,
        was_price: None,
        category: Some(Category::Flights),
        condition: None,
        location: None,
        score: None,
        flight: Some(FlightOffer {
            origin: origin.clone(),
            destination: destination.clone(),
            depart_on,
            return_on: round_trip.then(|| depart_on.checked_add(7.days()).unwrap_or(depart_on)),
            // Unknown stops count as one, so "nonstop only" rules are never misled.
            stops: deal.stops.unwrap_or(1),
            cabin: Cabin::Economy,
        }),
        seen_at: received,
        audience,
    })
}

impl MailIngest {
    pub fn new(
        store: Arc<dyn Store>,
        events: Arc<dyn EventPublisher>,
        clock: Arc<dyn Clock>,
        config: MailConfig,
    ) -> Self {
        Self {
            store,
            events,
            clock,
            config,
            llm: None,
        }
    }

    /// Reads deals with a language model first (the rules remain the fallback).
    pub fn with_llm(mut self, llm: LlmExtractor) -> Self {
        self.llm = Some(llm);
        self
    }

    pub fn addresses(&self) -> &InboundAddresses {
        &self.config.addresses
    }

    /// Reads one raw message kept at `raw_ref`, records it, and turns its deals into listings.
    /// Errors are the store's or the bus's: the caller retries the message.
    pub async fn ingest(&self, raw: &[u8], raw_ref: &str) -> Result<InboundMail, MailIngestError> {
        let now = self.clock.now();
        // The id follows from where the message is kept, so a retried delivery of the same
        // object finds its record instead of making a second one.
        let id = ListingId::derived("inbound-mail", raw_ref);
        let mail_records = records::<InboundMail>(self.store.as_ref());
        if let Some(done) = mail_records.get(UserId::system(), &id.to_string()).await? {
            return Ok(done);
        }
        let mut mail = InboundMail {
            id,
            owner: UserId::system(),
            recipient_user: None,
            received_at: now,
            from: None,
            to: None,
            subject: None,
            status: MailStatus::Unparseable,
            deals: 0,
            reason: None,
            extractor: None,
            raw_ref: raw_ref.to_string(),
            version: 0,
        };
        let outcome = self.read(raw, &mut mail, now).await?;
        if let Err((status, reason)) = outcome {
            mail.status = status;
            mail.reason = Some(reason);
        }
        match mail_records.insert(&mail, None).await {
            Ok(stored) => Ok(stored),
            // A concurrent delivery of the same object recorded it first.
            Err(StoreError::Conflict(_)) => mail_records
                .get(UserId::system(), &id.to_string())
                .await?
                .ok_or(MailIngestError::Store(StoreError::NotFound)),
            Err(error) => Err(error.into()),
        }
    }

    /// Fills `mail`; `Ok(Err(..))` is a message that did nothing, with its status and reason.
    async fn read(
        &self,
        raw: &[u8],
        mail: &mut InboundMail,
        now: Timestamp,
    ) -> Result<Result<(), (MailStatus, String)>, MailIngestError> {
        let parsed = match parse_mail(raw) {
            Ok(parsed) => parsed,
            Err(error) => return Ok(Err((MailStatus::Unparseable, error.to_string()))),
        };
        mail.from = parsed.from.clone();
        mail.subject = parsed.subject.clone();
        for (verdict, what) in [
            (&parsed.virus_verdict, "virus"),
            (&parsed.spam_verdict, "spam"),
        ] {
            if verdict
                .as_deref()
                .is_some_and(|v| v.eq_ignore_ascii_case("FAIL"))
            {
                return Ok(Err((
                    MailStatus::Rejected,
                    format!("SES {what} verdict FAIL"),
                )));
            }
        }
        let Some((to, recipient)) = parsed.recipients.iter().find_map(|address| {
            self.config
                .addresses
                .recognise(address)
                .map(|r| (address.clone(), r))
        }) else {
            return Ok(Err((
                MailStatus::UnknownAddress,
                format!("none of {:?} is an inbound address", parsed.recipients),
            )));
        };
        mail.to = Some(to);
        let Some(sender) = parsed.from.clone() else {
            return Ok(Err((MailStatus::SenderNotAllowed, "no sender".into())));
        };
        let audience = match recipient {
            Recipient::System => {
                if !sender_allowed(&self.config.system_senders, &sender, false) {
                    return Ok(Err((
                        MailStatus::SenderNotAllowed,
                        format!("{sender} is not on the system address's allowlist"),
                    )));
                }
                None
            }
            Recipient::User { user, generation } => {
                mail.recipient_user = Some(user);
                let settings = records::<InboundSettings>(self.store.as_ref())
                    .get(user, "current")
                    .await?
                    .unwrap_or_else(|| InboundSettings::new(user));
                if self.store.user_by_id(user).await?.is_none() || settings.generation != generation
                {
                    return Ok(Err((
                        MailStatus::UnknownAddress,
                        "a retired address, or its account is gone".into(),
                    )));
                }
                if !sender_allowed(&settings.allowed_senders, &sender, true) {
                    return Ok(Err((
                        MailStatus::SenderNotAllowed,
                        format!("{sender} is not on this address's allowlist"),
                    )));
                }
                Some(user)
            }
        };
        let (deals, extractor) = match &self.llm {
            Some(llm) => llm.flight_deals(&parsed.text).await,
            None => (flight_deals(&parsed.text), Extractor::Rules),
        };
        if deals.is_empty() {
            return Ok(Err((MailStatus::NoDeals, "no flight deal found".into())));
        }
        let (Some(source), Some((_, sender_domain))) =
            (source_of(&sender), sender.rsplit_once('@'))
        else {
            return Ok(Err((
                MailStatus::SenderNotAllowed,
                "unusable sender".into(),
            )));
        };
        let mut listings = Vec::new();
        let mut skipped = Vec::new();
        for deal in &deals {
            match listing_from_deal(deal, &source, sender_domain, now, audience) {
                Ok(listing) => listings.push(listing),
                Err(why) => skipped.push(format!("{}: {why}", deal.source_line)),
            }
        }
        if listings.is_empty() {
            return Ok(Err((MailStatus::NoDeals, skipped.join("; "))));
        }
        let mut events = Vec::new();
        for listing in &listings {
            let previous = self.store.listing_by_id(listing.id).await?.map(|l| l.price);
            if previous != Some(listing.price) {
                events.push(CatalogEvent::ListingObserved {
                    listing: Box::new(listing.clone()),
                    previous_price: previous,
                });
            }
        }
        self.events.publish(&events).await?;
        for listing in &listings {
            self.store.put_listing(listing).await?;
        }
        mail.status = MailStatus::Accepted;
        mail.deals = listings.len() as u32;
        mail.extractor = Some(
            match extractor {
                Extractor::Llm => "llm",
                Extractor::Rules => "rules",
            }
            .to_string(),
        );
        if !skipped.is_empty() {
            mail.reason = Some(format!("skipped: {}", skipped.join("; ")));
        }
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn departures_fall_on_the_next_travel_month() {
        let today = Date::new(2026, 11, 25).unwrap();
        assert_eq!(departure(&[3, 4], today), Date::new(2027, 3, 1).unwrap());
        assert_eq!(departure(&[12], today), Date::new(2026, 12, 1).unwrap());
        assert_eq!(departure(&[], today), Date::new(2026, 12, 25).unwrap());
    }

    #[test]
    fn senders_name_their_source() {
        assert_eq!(
            source_of("deals@mail.Fares.example.com").map(|s| s.to_string()),
            Some("mail-mail-fares-example-com".to_string())
        );
        assert_eq!(source_of("nobody"), None);
    }
}
