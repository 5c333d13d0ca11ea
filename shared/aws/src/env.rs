//! A function's environment, read once at start-up, and the one error every function reports
//! for missing or malformed settings: HTTP functions (through `dealpulse-lambda`) and event
//! functions (`scrape`, `ingest-email`) alike.

use std::collections::HashMap;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {name} is invalid: {why}")]
    Invalid { name: &'static str, why: String },
}

/// The process environment, read once at start-up. Values are trimmed; empty ones count as
/// unset.
pub struct FunctionEnv {
    vars: HashMap<String, String>,
}

impl FunctionEnv {
    pub fn from_process() -> Self {
        Self {
            vars: std::env::vars().collect(),
        }
    }

    pub fn from_map(vars: HashMap<String, String>) -> Self {
        Self { vars }
    }

    /// From literal pairs (tests).
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Self {
        Self::from_map(
            pairs
                .iter()
                .map(|(name, value)| (name.to_string(), value.to_string()))
                .collect(),
        )
    }

    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        self.optional(name).ok_or(ConfigError::Missing(name))
    }

    pub fn optional(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
    }

    /// A whole number, or `default` when unset.
    pub fn number(&self, name: &'static str, default: u64) -> Result<u64, ConfigError> {
        match self.optional(name) {
            None => Ok(default),
            Some(text) => text.parse().map_err(|_| ConfigError::Invalid {
                name,
                why: format!("{text:?} is not a whole number"),
            }),
        }
    }

    /// A comma-separated list of ports (empty when unset).
    pub fn ports(
        &self,
        name: &'static str,
    ) -> Result<std::collections::BTreeSet<u16>, ConfigError> {
        let Some(list) = self.optional(name) else {
            return Ok(Default::default());
        };
        list.split(',')
            .map(str::trim)
            .filter(|port| !port.is_empty())
            .map(|port| {
                port.parse().map_err(|_| ConfigError::Invalid {
                    name,
                    why: format!("{port:?} is not a port"),
                })
            })
            .collect()
    }

    /// Name of this function (for metrics), from the Lambda environment or the fallback.
    pub fn function_name(&self, fallback: &str) -> String {
        self.optional("AWS_LAMBDA_FUNCTION_NAME")
            .unwrap_or_else(|| fallback.to_string())
    }

    pub fn allowed_origins(&self) -> Vec<String> {
        self.optional("DEALPULSE_ALLOWED_ORIGINS")
            .map(|origins| origins.split(',').map(|o| o.trim().to_string()).collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_trimmed_and_blank_ones_are_unset() {
        let env =
            FunctionEnv::from_pairs(&[("A", " x "), ("B", "  "), ("N", "12"), ("BAD", "soon")]);
        assert_eq!(env.required("A").unwrap(), "x");
        assert!(matches!(env.required("B"), Err(ConfigError::Missing("B"))));
        assert_eq!(env.number("N", 1).unwrap(), 12);
        assert_eq!(env.number("UNSET", 7).unwrap(), 7);
        assert!(matches!(
            env.number("BAD", 1),
            Err(ConfigError::Invalid { name: "BAD", .. })
        ));
    }
}
