//! `dealpulse parse-price`: the price-text parser on the command line, for debugging shops'
//! formats and for scripts (JSON lines in, JSON lines out).

use dealpulse_domain::money::Currency;
use dealpulse_domain::price_text::{parse_price, PriceContext};
use std::io::{BufRead, Write};

/// One output line, fields in this order.
#[derive(serde::Serialize)]
struct Line<'a> {
    input: &'a str,
    amount: Option<String>,
    currency: Option<String>,
}

fn line(input: &str, context: &PriceContext<'_>) -> anyhow::Result<String> {
    let parsed = parse_price(input, context);
    Ok(serde_json::to_string(&Line {
        input,
        amount: parsed.amount,
        currency: parsed.currency,
    })?)
}

pub fn run(
    text: Option<&str>,
    currency_hint: Option<&str>,
    locale: Option<&str>,
    host: Option<&str>,
) -> anyhow::Result<()> {
    let currency = currency_hint
        .map(|code| Currency::parse(code).map_err(|e| anyhow::anyhow!("--currency-hint: {e}")))
        .transpose()?;
    let context = PriceContext {
        currency,
        locale,
        host,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match text {
        Some(text) => writeln!(out, "{}", line(text, &context)?)?,
        None => {
            for input in std::io::stdin().lock().lines() {
                let input = input?;
                writeln!(out, "{}", line(&input, &context)?)?;
            }
        }
    }
    out.flush()?;
    Ok(())
}
