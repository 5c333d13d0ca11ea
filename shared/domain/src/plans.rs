//! Plans and their limits. The limits are data (`data/plans.json`, overridable by configuration),
//! read once and consulted wherever a quota applies, so changing a limit never means code.

use crate::listing::vocabulary;
use crate::preferences::Channel;
use serde::{Deserialize, Serialize};
use std::fmt;

vocabulary!(
    /// The subscription plan of an account.
    #[derive(Default)]
    Plan {
        #[default]
        Free => "free",
        Pro => "pro",
        Business => "business",
    }
);

/// What one plan allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanLimits {
    pub max_rules: u32,
    pub max_watches: u32,
    /// Shortest interval between two checks of a watched product, in minutes.
    pub min_check_interval_minutes: u32,
    /// Notification channels the plan may enable.
    pub channels: Vec<Channel>,
    pub max_endpoints: u32,
    pub max_push_subscriptions: u32,
}

/// A limit that a request would exceed; named in the 403 answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Rules,
    Watches,
    CheckInterval,
    Channel(Channel),
    Endpoints,
    PushSubscriptions,
}

impl Limit {
    /// Stable machine name of the limit (`max_rules`, `channel:sms`, …).
    pub fn name(&self) -> String {
        match self {
            Limit::Rules => "max_rules".into(),
            Limit::Watches => "max_watches".into(),
            Limit::CheckInterval => "min_check_interval_minutes".into(),
            Limit::Channel(channel) => format!("channels:{channel}"),
            Limit::Endpoints => "max_endpoints".into(),
            Limit::PushSubscriptions => "max_push_subscriptions".into(),
        }
    }
}

/// The limits of every plan, one field per plan so none can be missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanCatalog {
    free: PlanLimits,
    pro: PlanLimits,
    business: PlanLimits,
}

impl PlanCatalog {
    /// The limits shipped with DealPulse (`data/plans.json`).
    pub fn builtin() -> Result<Self, serde_json::Error> {
        Self::from_json(include_str!("../data/plans.json"))
    }

    /// Reads a catalogue; every plan must be present and no unknown field is accepted.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    pub fn limits(&self, plan: Plan) -> &PlanLimits {
        match plan {
            Plan::Free => &self.free,
            Plan::Pro => &self.pro,
            Plan::Business => &self.business,
        }
    }
}

impl fmt::Display for PlanLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} rules, {} watches, checks every {} min",
            self.max_rules, self.max_watches, self.min_check_interval_minutes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_limits_cover_every_plan_and_grow_with_the_plan() {
        let catalog = PlanCatalog::builtin().unwrap();
        let free = catalog.limits(Plan::Free);
        let pro = catalog.limits(Plan::Pro);
        let business = catalog.limits(Plan::Business);
        assert!(free.max_rules < pro.max_rules && pro.max_rules < business.max_rules);
        assert!(!free.channels.contains(&Channel::Sms), "SMS is not on free");
        assert!(pro.channels.contains(&Channel::Sms));
        assert!(free.min_check_interval_minutes > pro.min_check_interval_minutes);
    }

    #[test]
    fn a_catalogue_missing_a_plan_or_with_unknown_fields_is_refused() {
        let error = PlanCatalog::from_json(r#"{"free": {"max_rules": 1, "max_watches": 1, "min_check_interval_minutes": 60, "channels": [], "max_endpoints": 0, "max_push_subscriptions": 0}}"#).unwrap_err();
        assert!(error.to_string().contains("missing field `pro`"), "{error}");
        assert!(PlanCatalog::from_json(r#"{"free": {"max_rulez": 1}}"#).is_err());
    }
}
