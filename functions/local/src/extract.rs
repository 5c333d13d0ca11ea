//! `dealpulse extract`: the HTML extractor on a saved page, for users writing selector
//! overrides and for debugging a shop whose layout changed.

use dealpulse_extract::{extract, Page, SelectorOverrides};
use std::io::Read;
use std::path::Path;

pub fn run(file: &Path, url: Option<&str>, selectors: Option<&Path>) -> anyhow::Result<()> {
    let html = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        let bytes = std::fs::read(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let url = url
        .map(|u| url::Url::parse(u).map_err(|e| anyhow::anyhow!("--url: {e}")))
        .transpose()?;
    let overrides: Option<SelectorOverrides> = selectors
        .map(|path| -> anyhow::Result<SelectorOverrides> {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
        })
        .transpose()?;
    let extracted = extract(&Page {
        html: &html,
        url: url.as_ref(),
        selectors: overrides.as_ref(),
    })?;
    println!("{}", serde_json::to_string_pretty(&extracted)?);
    Ok(())
}
