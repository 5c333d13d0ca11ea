//! `dealpulse extract`: the HTML extractor on a product page — fetched through the same guarded,
//! polite fetcher as scraping (robots.txt, SSRF guard), or read from a saved file — for users
//! writing selector overrides and for debugging a shop whose layout changed.

use dealpulse_extract::{extract, Page, SelectorOverrides};
use dealpulse_fetch::polite::PoliteFetcher;
use dealpulse_fetch::{FetchOutcome, Validators};
use std::io::Read;
use std::path::Path;

/// Fetches `url`; anything but a page is an error naming the classification.
async fn fetch(
    url: &url::Url,
    allow_loopback_port: Option<u16>,
) -> anyhow::Result<(String, url::Url)> {
    let fetcher = PoliteFetcher::standard(
        allow_loopback_port.into_iter().collect(),
        std::time::Duration::ZERO,
    )?;
    match fetcher.fetch(url, &Validators::default()).await {
        FetchOutcome::Ok(page) => Ok((
            String::from_utf8_lossy(&page.body).into_owned(),
            page.final_url,
        )),
        FetchOutcome::NotModified => anyhow::bail!("fetch: not modified"),
        FetchOutcome::Blocked(why) => anyhow::bail!("fetch blocked: {why}"),
        FetchOutcome::NotFound => anyhow::bail!("fetch: not found (404)"),
        FetchOutcome::Gone => anyhow::bail!("fetch: gone (410)"),
        FetchOutcome::Error(why) => anyhow::bail!("fetch failed: {why}"),
    }
}

pub async fn run(
    source: &str,
    url: Option<&str>,
    selectors: Option<&Path>,
    allow_loopback_port: Option<u16>,
) -> anyhow::Result<()> {
    let given_url = url
        .map(|u| url::Url::parse(u).map_err(|e| anyhow::anyhow!("--url: {e}")))
        .transpose()?;
    let (html, page_url) = if source.starts_with("http://") || source.starts_with("https://") {
        let target = url::Url::parse(source)?;
        let (html, final_url) = fetch(&target, allow_loopback_port).await?;
        (html, Some(final_url))
    } else if source == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        (text, given_url)
    } else {
        let bytes = std::fs::read(source).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
        (String::from_utf8_lossy(&bytes).into_owned(), given_url)
    };
    let overrides: Option<SelectorOverrides> = selectors
        .map(|path| -> anyhow::Result<SelectorOverrides> {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        })
        .transpose()?;
    let extracted = extract(&Page {
        html: &html,
        url: page_url.as_ref(),
        selectors: overrides.as_ref(),
    })?;
    println!("{}", serde_json::to_string_pretty(&extracted)?);
    Ok(())
}
