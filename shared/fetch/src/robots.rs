//! robots.txt (RFC 9309): the group for our product token (else `*`), Allow/Disallow with
//! `*` and `$` patterns where the longest match wins and Allow wins ties, and Crawl-delay.

use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    allow: bool,
    pattern: String,
}

/// The rules that apply to us on one origin.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Robots {
    rules: Vec<Rule>,
    pub crawl_delay: Option<Duration>,
    /// Everything is disallowed (the file could not be fetched because the server failed).
    disallow_all: bool,
}

impl Robots {
    /// No restrictions (no robots.txt, or a 4xx for it).
    pub fn allow_all() -> Self {
        Self::default()
    }

    /// Complete disallow (robots.txt unreachable or 5xx: RFC 9309 §2.3.1.4).
    pub fn disallow_all() -> Self {
        Self {
            disallow_all: true,
            ..Self::default()
        }
    }

    /// Parses a robots.txt for the product token `agent` (e.g. `dealpulse`).
    pub fn parse(text: &str, agent: &str) -> Self {
        let agent = agent.to_ascii_lowercase();
        // Groups: consecutive user-agent lines, then their rules.
        let mut groups: Vec<(Vec<String>, Vec<Rule>, Option<Duration>)> = Vec::new();
        let mut in_agents = false;
        for raw in text.lines() {
            let line = raw.split('#').next().unwrap_or_default().trim();
            let Some((key, value)) = line.split_once(':') else {
                continue;
            };
            let key = key.trim().to_ascii_lowercase();
            let value = value.trim();
            match key.as_str() {
                "user-agent" => {
                    if !in_agents {
                        groups.push((Vec::new(), Vec::new(), None));
                        in_agents = true;
                    }
                    if let Some(group) = groups.last_mut() {
                        group.0.push(value.to_ascii_lowercase());
                    }
                }
                "allow" | "disallow" => {
                    in_agents = false;
                    if let Some(group) = groups.last_mut() {
                        // An empty Disallow allows everything: no rule.
                        if !value.is_empty() {
                            group.1.push(Rule {
                                allow: key == "allow",
                                pattern: value.to_string(),
                            });
                        }
                    }
                }
                "crawl-delay" => {
                    in_agents = false;
                    if let Some(group) = groups.last_mut() {
                        group.2 = value
                            .parse::<f64>()
                            .ok()
                            .filter(|s| s.is_finite() && *s >= 0.0)
                            .map(|s| Duration::from_secs_f64(s.min(60.0)));
                    }
                }
                _ => {}
            }
        }
        let matches_us = |names: &[String]| {
            names
                .iter()
                .any(|name| name != "*" && (agent.starts_with(name.as_str()) || name == &agent))
        };
        let chosen: Vec<&(Vec<String>, Vec<Rule>, Option<Duration>)> =
            if groups.iter().any(|g| matches_us(&g.0)) {
                groups.iter().filter(|g| matches_us(&g.0)).collect()
            } else {
                groups
                    .iter()
                    .filter(|g| g.0.iter().any(|n| n == "*"))
                    .collect()
            };
        // Several groups for the same agent are merged.
        Self {
            rules: chosen.iter().flat_map(|g| g.1.clone()).collect(),
            crawl_delay: chosen.iter().find_map(|g| g.2),
            disallow_all: false,
        }
    }

    /// Whether `path` (path and query of the URL) may be fetched.
    pub fn allows(&self, path: &str) -> bool {
        if self.disallow_all {
            return false;
        }
        if path == "/robots.txt" {
            return true;
        }
        let mut best: Option<(usize, bool)> = None;
        for rule in &self.rules {
            if pattern_matches(&rule.pattern, path) {
                let length = rule.pattern.len();
                let better = match best {
                    None => true,
                    Some((best_length, best_allow)) => {
                        length > best_length || (length == best_length && rule.allow && !best_allow)
                    }
                };
                if better {
                    best = Some((length, rule.allow));
                }
            }
        }
        best.is_none_or(|(_, allow)| allow)
    }
}

/// `*` matches any run of characters; a trailing `$` anchors the end; otherwise the pattern
/// matches a prefix of the path. Dynamic programming keeps many `*`s linear in the path.
fn pattern_matches(pattern: &str, path: &str) -> bool {
    let (pattern, anchored) = match pattern.strip_suffix('$') {
        Some(p) => (p, true),
        None => (pattern, false),
    };
    let p: Vec<char> = pattern.chars().collect();
    let s: Vec<char> = path.chars().collect();
    // reach[j]: the pattern so far can end right before s[j].
    let mut reach = vec![false; s.len() + 1];
    reach[0] = true;
    for &c in &p {
        let mut next = vec![false; s.len() + 1];
        if c == '*' {
            let mut any = false;
            for j in 0..=s.len() {
                any |= reach[j];
                next[j] = any;
            }
        } else {
            for j in 0..s.len() {
                if reach[j] && s[j] == c {
                    next[j + 1] = true;
                }
            }
        }
        reach = next;
    }
    if anchored {
        reach[s.len()]
    } else {
        reach.iter().any(|&r| r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "
# comments are ignored
User-agent: *
Disallow: /cart
Disallow: /search?
Allow: /cart/public
Crawl-delay: 2

User-agent: DealPulse
User-agent: otherbot
Disallow: /private/
Allow: /private/deals$
Disallow: /*.pdf$
Disallow: /tmp*/x
Crawl-delay: 0.5

User-agent: badbot
Disallow: /
";

    #[test]
    fn our_group_is_chosen_and_longest_match_wins() {
        let robots = Robots::parse(FILE, "dealpulse");
        assert_eq!(robots.crawl_delay, Some(Duration::from_millis(500)));
        for (path, allowed) in [
            ("/", true),
            ("/cart", true), // the * group does not apply to us
            ("/private/", false),
            ("/private/x", false),
            ("/private/deals", true),
            ("/private/deals/1", false),
            ("/docs/a.pdf", false),
            ("/docs/a.pdf?x", true),
            ("/tmp123/x/y", false),
            ("/robots.txt", true),
        ] {
            assert_eq!(robots.allows(path), allowed, "{path}");
        }
    }

    #[test]
    fn the_star_group_applies_to_unnamed_agents() {
        let robots = Robots::parse(FILE, "someone-else");
        assert_eq!(robots.crawl_delay, Some(Duration::from_secs(2)));
        assert!(!robots.allows("/cart"));
        assert!(robots.allows("/cart/public/1"));
        assert!(!robots.allows("/search?q=x"));
        assert!(robots.allows("/search"));
        let bad = Robots::parse(FILE, "badbot");
        assert!(!bad.allows("/anything"));
    }

    #[test]
    fn equal_length_ties_go_to_allow_and_empty_disallow_allows() {
        let robots = Robots::parse("User-agent: *\nDisallow: /page\nAllow: /page\n", "x");
        assert!(robots.allows("/page"));
        let open = Robots::parse("User-agent: *\nDisallow:\n", "x");
        assert!(open.allows("/everything"));
        assert!(!Robots::disallow_all().allows("/"));
        assert!(Robots::allow_all().allows("/"));
    }
}
