//! The SSRF guard at input time: a URL a user gives DealPulse to fetch or post to must name a
//! public web host. Private, loopback, link-local, cloud-metadata and other special-purpose
//! addresses and names are refused before anything is stored. (Fetchers re-check the resolved
//! address at connection time, since DNS can point a public name anywhere.)

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use url::{Host, Url};

/// Longest URL accepted.
pub const MAX_URL_CHARS: usize = 2048;

/// Which schemes a URL may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schemes {
    HttpOrHttps,
    HttpsOnly,
}

/// Why a URL was refused; the message is safe to show.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UnsafeUrl(pub String);

/// An absolute http(s) URL whose host is a public name or a public IP address, in canonical
/// form (lower-case host, default port dropped, fragment removed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct PublicUrl(Url);

impl PublicUrl {
    pub fn parse(raw: &str, schemes: Schemes) -> Result<Self, UnsafeUrl> {
        let raw = raw.trim();
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(UnsafeUrl(format!(
                "a URL may be at most {MAX_URL_CHARS} characters"
            )));
        }
        let mut url =
            Url::parse(raw).map_err(|e| UnsafeUrl(format!("not an absolute URL: {e}")))?;
        match (url.scheme(), schemes) {
            ("https", _) | ("http", Schemes::HttpOrHttps) => {}
            ("http", Schemes::HttpsOnly) => {
                return Err(UnsafeUrl("only https:// URLs are accepted here".into()))
            }
            _ => {
                return Err(UnsafeUrl(
                    "only http:// and https:// URLs are accepted".into(),
                ))
            }
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UnsafeUrl(
                "URLs with a user name or password are refused".into(),
            ));
        }
        if let Some(port) = url.port() {
            if !matches!(port, 80 | 443 | 8080 | 8443) {
                return Err(UnsafeUrl(
                    "only the standard web ports (80, 443, 8080, 8443) are accepted".into(),
                ));
            }
        }
        match url.host() {
            None => return Err(UnsafeUrl("the URL has no host".into())),
            Some(Host::Ipv4(ip)) => check_ip(IpAddr::V4(ip))?,
            Some(Host::Ipv6(ip)) => check_ip(IpAddr::V6(ip))?,
            Some(Host::Domain(name)) => check_name(name)?,
        }
        url.set_fragment(None);
        Ok(Self(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn host(&self) -> String {
        self.0.host_str().unwrap_or_default().to_string()
    }

    pub fn path(&self) -> &str {
        self.0.path()
    }

    pub fn url(&self) -> &Url {
        &self.0
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.as_str())
    }
}

impl From<PublicUrl> for String {
    fn from(value: PublicUrl) -> Self {
        value.0.into()
    }
}

impl<'de> Deserialize<'de> for PublicUrl {
    /// Stored URLs were checked when they were accepted; reading them back re-parses only.
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Url::parse(&text)
            .map(PublicUrl)
            .map_err(serde::de::Error::custom)
    }
}

fn check_name(name: &str) -> Result<(), UnsafeUrl> {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let refused = UnsafeUrl(format!("{name} is not a public host name"));
    if !name.contains('.') {
        return Err(refused);
    }
    const PRIVATE_SUFFIXES: [&str; 9] = [
        ".localhost",
        ".local",
        ".internal",
        ".intranet",
        ".lan",
        ".home.arpa",
        ".corp",
        ".localdomain",
        ".test",
    ];
    const PRIVATE_NAMES: [&str; 3] = [
        "metadata.google.internal",
        "instance-data.ec2.internal",
        "metadata.azure.com",
    ];
    if PRIVATE_NAMES.contains(&name.as_str())
        || PRIVATE_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
    {
        return Err(refused);
    }
    Ok(())
}

/// Refuses every address that is not globally routable unicast.
pub fn check_ip(ip: IpAddr) -> Result<(), UnsafeUrl> {
    if is_public(ip) {
        Ok(())
    } else {
        Err(UnsafeUrl(format!("{ip} is not a public address")))
    }
}

/// A URL DealPulse may fetch for a user: a [`PublicUrl`], or a URL under one of the deployment's
/// trusted local shop prefixes (local mode's demo shop and shops on this machine; empty on AWS).
/// A prefix is `scheme://host[:port]/path`: the origin must match exactly and the path must start
/// with the prefix's path, so trusting a shop does not open the rest of its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchableUrl {
    Public(PublicUrl),
    Trusted(Url),
}

impl FetchableUrl {
    pub fn parse(raw: &str, trusted_prefixes: &[String]) -> Result<Self, UnsafeUrl> {
        if let Some(url) = trusted(raw, trusted_prefixes) {
            return Ok(Self::Trusted(url));
        }
        PublicUrl::parse(raw, Schemes::HttpOrHttps).map(Self::Public)
    }

    pub fn url(&self) -> &Url {
        match self {
            Self::Public(url) => url.url(),
            Self::Trusted(url) => url,
        }
    }

    pub fn as_str(&self) -> &str {
        self.url().as_str()
    }

    pub fn host(&self) -> String {
        self.url().host_str().unwrap_or_default().to_string()
    }
}

/// `raw` in canonical form when it lies under one of `prefixes`.
fn trusted(raw: &str, prefixes: &[String]) -> Option<Url> {
    if prefixes.is_empty() || raw.trim().chars().count() > MAX_URL_CHARS {
        return None;
    }
    let mut url = Url::parse(raw.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return None;
    }
    url.set_fragment(None);
    let origin = url.origin().ascii_serialization();
    let under = prefixes.iter().any(|prefix| {
        Url::parse(prefix.trim()).is_ok_and(|prefix| {
            prefix.origin().ascii_serialization() == origin && url.path().starts_with(prefix.path())
        })
    });
    under.then_some(url)
}

/// Whether an address is public: not private, loopback, link-local (cloud metadata lives there),
/// shared, documentation, benchmarking, multicast, reserved or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let special = ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_multicast()
        || ip.is_unspecified()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240; // reserved
    !special
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let segments = ip.segments();
    // NAT64 (64:ff9b::/96) embeds an IPv4 address.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let [a, b] = segments[6].to_be_bytes();
        let [c, d] = segments[7].to_be_bytes();
        return is_public_v4(Ipv4Addr::new(a, b, c, d));
    }
    let special = ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (segments[0] & 0xfe00) == 0xfc00 // unique local (AWS metadata fd00:ec2::254)
        || (segments[0] & 0xffc0) == 0xfe80 // link-local
        || (segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
        || segments[..5] == [0, 0, 0, 0, 0] // IPv4-compatible and other ::/80 forms
        || (segments[0] == 0x2002); // 6to4 can tunnel to private IPv4
    !special
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_web_urls_are_accepted_in_canonical_form() {
        let url = PublicUrl::parse(
            "HTTPS://Shop.Example.COM:443/p/123?x=1#reviews",
            Schemes::HttpOrHttps,
        )
        .unwrap();
        assert_eq!(url.as_str(), "https://shop.example.com/p/123?x=1");
        assert!(PublicUrl::parse("http://93.184.216.34/", Schemes::HttpOrHttps).is_ok());
        assert!(PublicUrl::parse("https://[2606:2800:220:1::]/", Schemes::HttpOrHttps).is_ok());
    }

    #[test]
    fn private_and_special_targets_are_refused() {
        for raw in [
            "http://127.0.0.1/",
            "http://localhost/admin",
            "http://foo.localhost/",
            "http://10.0.0.5/",
            "http://172.16.3.4/",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://100.64.0.1/",
            "http://0.0.0.0/",
            "http://[::1]/",
            "http://[fd00:ec2::254]/",
            "http://[fe80::1]/",
            "http://[::ffff:127.0.0.1]/",
            "http://[64:ff9b::a00:1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://0177.0.0.1/",
            "http://intranet/",
            "http://printer.local/",
            "ftp://example.com/file",
            "file:///etc/passwd",
            "gopher://example.com/",
            "javascript:alert(1)",
            "https://user:pass@example.com/",
            "https://example.com:22/",
            "//example.com/",
            "example.com",
        ] {
            assert!(
                PublicUrl::parse(raw, Schemes::HttpOrHttps).is_err(),
                "{raw} accepted"
            );
        }
    }

    #[test]
    fn https_only_refuses_plain_http() {
        assert!(
            PublicUrl::parse("http://discord.com/api/webhooks/1/x", Schemes::HttpsOnly).is_err()
        );
        assert!(
            PublicUrl::parse("https://discord.com/api/webhooks/1/x", Schemes::HttpsOnly).is_ok()
        );
    }
    #[test]
    fn trusted_prefixes_admit_exactly_their_origin_and_path() {
        let prefixes = vec!["http://127.0.0.1:8080/demo-shop/".to_string()];
        let shop =
            FetchableUrl::parse("http://127.0.0.1:8080/demo-shop/p/x#top", &prefixes).unwrap();
        assert_eq!(shop.as_str(), "http://127.0.0.1:8080/demo-shop/p/x");
        assert_eq!(shop.host(), "127.0.0.1");
        for refused in [
            "http://127.0.0.1:8080/api/v1/dev/outbox",
            "http://127.0.0.1:8081/demo-shop/p/x",
            "https://127.0.0.1:8080/demo-shop/p/x",
            "http://localhost:8080/demo-shop/p/x",
            "http://user@127.0.0.1:8080/demo-shop/p/x",
        ] {
            assert!(
                FetchableUrl::parse(refused, &prefixes).is_err(),
                "{refused}"
            );
        }
        assert!(matches!(
            FetchableUrl::parse("https://shop.example.com/p/1", &prefixes),
            Ok(FetchableUrl::Public(_))
        ));
        assert!(FetchableUrl::parse("http://127.0.0.1:8080/demo-shop/p/x", &[]).is_err());
    }
}
