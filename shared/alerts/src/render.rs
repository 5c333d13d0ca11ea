//! Notices as e-mail (HTML and plain text, with a price table and a text sparkline) and as SMS.

use dealpulse_domain::account::Email;
use dealpulse_domain::mail::{escape_html, EmailMessage};
use dealpulse_domain::money::Money;
use dealpulse_domain::notify::{DealLine, Notice, NoticeKind};

/// Links an e-mail carries.
#[derive(Debug, Clone)]
pub struct EmailLinks {
    /// Turns alert e-mail off (one click, RFC 8058).
    pub unsubscribe_all: String,
    /// Turns one rule off: (rule name, link).
    pub unsubscribe_rules: Vec<(String, String)>,
    /// Where the user manages preferences.
    pub preferences: String,
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `▇▆▆▃▁`: the prices' shape, lowest bar for the lowest price.
pub fn sparkline(prices: &[Money]) -> String {
    let minors: Vec<i64> = prices.iter().map(Money::minor).collect();
    let (Some(low), Some(high)) = (minors.iter().min(), minors.iter().max()) else {
        return String::new();
    };
    let span = (high - low).max(1) as f64;
    minors
        .iter()
        .map(|m| {
            let step = (((m - low) as f64 / span) * 7.0).round() as usize;
            BARS[step.min(7)]
        })
        .collect()
}

fn deal_text(deal: &DealLine) -> String {
    let mut text = format!("{}\n{}\n{}", deal.title, deal.describe(), deal.url);
    if let Some(score) = deal.score {
        text.push_str(&format!("\nDeal score: {score}/100"));
    }
    if deal.history.len() >= 2 {
        text.push_str(&format!(
            "\nRecent prices: {} ({} → {})",
            sparkline(&deal.history),
            deal.history
                .first()
                .map(Money::to_string)
                .unwrap_or_default(),
            deal.history
                .last()
                .map(Money::to_string)
                .unwrap_or_default()
        ));
    }
    text
}

fn deal_html(deal: &DealLine) -> String {
    let mut html = format!(
        "<tr><td style=\"padding:12px 0;border-bottom:1px solid #eee\">\
         <a href=\"{url}\" style=\"font-size:16px;color:#0b6bcb\">{title}</a><br>\
         <strong style=\"font-size:18px\">{price}</strong>",
        url = escape_html(&deal.url),
        title = escape_html(&deal.title),
        price = escape_html(&deal.price.to_string()),
    );
    if let Some(was) = deal.was_price {
        html.push_str(&format!(
            " <s style=\"color:#777\">{}</s>",
            escape_html(&was.to_string())
        ));
    }
    if let Some(score) = deal.score {
        html.push_str(&format!(" · score {score}/100"));
    }
    if !deal.reasons.is_empty() {
        html.push_str(&format!(
            "<br><span style=\"color:#555;font-size:13px\">Because of: {}</span>",
            escape_html(&deal.reasons.join(", "))
        ));
    }
    if deal.history.len() >= 2 {
        // A table, not an image: mail clients block images and SVG.
        html.push_str(
            "<table style=\"margin-top:6px;font-size:12px;color:#555\" aria-label=\"Recent prices\"><tr>",
        );
        for price in deal.history.iter().rev().take(8).rev() {
            html.push_str(&format!(
                "<td style=\"padding-right:8px\">{}</td>",
                escape_html(&price.amount_text())
            ));
        }
        html.push_str(&format!(
            "<td style=\"font-size:16px\">{}</td></tr></table>",
            sparkline(&deal.history)
        ));
    }
    html.push_str("</td></tr>");
    html
}

/// The alert or digest e-mail, with its unsubscribe headers.
pub fn email(notice: &Notice, to: Email, links: &EmailLinks) -> EmailMessage {
    let headline = notice.headline();
    let intro = match &notice.kind {
        NoticeKind::Alert { .. } => "A deal matched what you are looking for.".to_string(),
        NoticeKind::Digest { overflow, .. } if *overflow > 0 => format!(
            "Deals since your last digest, best first. {overflow} of them came after your daily alert limit."
        ),
        NoticeKind::Digest { .. } => "Deals since your last digest, best first.".to_string(),
        NoticeKind::Newsletter { .. } => {
            "The best-scored public deals DealPulse saw this week.".to_string()
        }
    };
    let newsletter = matches!(notice.kind, NoticeKind::Newsletter { .. });
    let mut text = format!("{intro}\n\n");
    let mut rows = String::new();
    for deal in &notice.deals {
        text.push_str(&deal_text(deal));
        text.push_str("\n\n");
        rows.push_str(&deal_html(deal));
    }
    let mut footer = if newsletter {
        text.push_str(&format!(
            "You subscribed to DealPulse's weekly top deals. Unsubscribe: {}\n",
            links.unsubscribe_all
        ));
        format!(
            "You subscribed to DealPulse's weekly top deals. <a href=\"{}\">Unsubscribe</a>",
            escape_html(&links.unsubscribe_all)
        )
    } else {
        text.push_str(&format!(
            "Manage alerts: {}\nStop alert e-mails: {}\n",
            links.preferences, links.unsubscribe_all
        ));
        format!(
            "<a href=\"{}\">Manage alerts</a> · <a href=\"{}\">Stop alert e-mails</a>",
            escape_html(&links.preferences),
            escape_html(&links.unsubscribe_all)
        )
    };
    for (name, link) in &links.unsubscribe_rules {
        text.push_str(&format!("Stop the rule \"{name}\": {link}\n"));
        footer.push_str(&format!(
            " · <a href=\"{}\">Stop the rule “{}”</a>",
            escape_html(link),
            escape_html(name)
        ));
    }
    let html = format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:600px;margin:auto\">\
         <h1 style=\"font-size:20px\">{heading}</h1><p>{intro}</p>\
         <table style=\"width:100%;border-collapse:collapse\">{rows}</table>\
         <p style=\"font-size:12px;color:#555\">{footer}</p></body></html>",
        heading = escape_html(&headline),
        intro = escape_html(&intro),
    );
    let kind = match notice.kind {
        NoticeKind::Alert { .. } => "alert",
        NoticeKind::Digest { .. } => "digest",
        NoticeKind::Newsletter { .. } => "newsletter",
    };
    EmailMessage::new(to, headline, text, Some(html))
        .with_header("List-Unsubscribe", format!("<{}>", links.unsubscribe_all))
        .with_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
        .with_tag("kind", kind)
}

/// SMS text: one deal, short, with its link (a segment is 160 GSM characters; stay under 3).
pub fn sms(notice: &Notice) -> String {
    let Some(deal) = notice.deals.first() else {
        return notice.headline();
    };
    let title: String = deal.title.chars().take(90).collect();
    let mut text = format!("DealPulse: {title} now {}", deal.price);
    if let Some(was) = deal.was_price {
        text.push_str(&format!(" (was {was})"));
    }
    text.push_str(&format!(" {}", deal.url));
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use dealpulse_domain::money::Currency;

    fn eur(amount: &str) -> Money {
        Money::parse(amount, Currency::parse("EUR").unwrap()).unwrap()
    }

    #[test]
    fn sparkline_spans_lowest_to_highest() {
        assert_eq!(sparkline(&[eur("300"), eur("250"), eur("200")]), "█▅▁");
        assert_eq!(sparkline(&[eur("5"), eur("5")]), "▁▁");
        assert_eq!(sparkline(&[]), "");
    }

    #[test]
    fn alert_mail_escapes_titles_and_carries_one_click_unsubscribe() {
        let notice = Notice {
            delivery_id: "d".into(),
            kind: NoticeKind::Alert { urgent: true },
            deals: vec![DealLine {
                title: "<b>Lamp</b> & shade".into(),
                url: "https://shop.test/lamp?a=1&b=2".into(),
                price: eur("20"),
                was_price: Some(eur("30")),
                reasons: vec!["Lamps".into()],
                score: Some(90),
                history: vec![eur("30"), eur("25"), eur("20")],
            }],
            occurred_at: jiff::Timestamp::UNIX_EPOCH,
        };
        let links = EmailLinks {
            unsubscribe_all: "https://dp.test/api/v1/unsubscribe?token=t".into(),
            unsubscribe_rules: vec![(
                "Lamps".into(),
                "https://dp.test/api/v1/unsubscribe?token=r".into(),
            )],
            preferences: "https://dp.test/preferences".into(),
        };
        let mail = email(&notice, Email::parse("a@b.test").unwrap(), &links);
        let html = mail.html.clone().unwrap();
        assert!(html.contains("&lt;b&gt;Lamp&lt;/b&gt; &amp; shade"));
        assert!(html.contains("a=1&amp;b=2"));
        assert!(mail.text.contains("Recent prices: █▅▁"));
        assert!(mail.headers.contains(&(
            "List-Unsubscribe".into(),
            "<https://dp.test/api/v1/unsubscribe?token=t>".into()
        )));
        assert!(mail.headers.contains(&(
            "List-Unsubscribe-Post".into(),
            "List-Unsubscribe=One-Click".into()
        )));
        assert!(mail.text.contains("Stop the rule \"Lamps\""));
        assert!(sms(&notice)
            .starts_with("DealPulse: <b>Lamp</b> & shade now 20.00 EUR (was 30.00 EUR)"));
    }
}
