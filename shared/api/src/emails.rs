//! The account e-mails, as text and HTML. Links are built from the configured public URL.

use dealpulse_domain::account::Email;
use dealpulse_domain::mail::{escape_html, EmailMessage};

fn layout(heading: &str, paragraph: &str, link: &str, button: &str, footer: &str) -> String {
    format!(
        "<!doctype html><html><body style=\"font-family:sans-serif;max-width:560px;margin:auto\">\
         <h1 style=\"font-size:20px\">{heading}</h1><p>{paragraph}</p>\
         <p><a href=\"{link}\" style=\"background:#0b6bcb;color:#fff;padding:10px 16px;\
         border-radius:6px;text-decoration:none\">{button}</a></p>\
         <p style=\"font-size:12px;color:#555\">Or paste this link into your browser: {link}</p>\
         <p style=\"font-size:12px;color:#555\">{footer}</p></body></html>",
        link = escape_html(link)
    )
}

pub fn verification(to: &Email, link: &str, valid_hours: i64) -> EmailMessage {
    EmailMessage {
        to: to.clone(),
        subject: "Confirm your DealPulse e-mail address".to_string(),
        text: format!(
            "Welcome to DealPulse!\n\nConfirm your e-mail address by opening this link:\n\n{link}\n\n\
             The link works once and expires in {valid_hours} hours. If you did not sign up, ignore this message.\n"
        ),
        html: Some(layout(
            "Welcome to DealPulse",
            "Confirm your e-mail address to start receiving deal alerts.",
            link,
            "Confirm e-mail address",
            &format!(
                "The link works once and expires in {valid_hours} hours. If you did not sign up, ignore this message."
            ),
        )),
        headers: Vec::new(),
        tags: Vec::new(),
    }
}

pub fn password_reset(to: &Email, link: &str, valid_minutes: i64) -> EmailMessage {
    EmailMessage {
        to: to.clone(),
        subject: "Reset your DealPulse password".to_string(),
        text: format!(
            "Someone asked to reset the password of your DealPulse account.\n\n\
             Choose a new password here:\n\n{link}\n\n\
             The link works once and expires in {valid_minutes} minutes. If it was not you, ignore this message: your password stays as it is.\n"
        ),
        html: Some(layout(
            "Reset your password",
            "Someone asked to reset the password of your DealPulse account.",
            link,
            "Choose a new password",
            &format!(
                "The link works once and expires in {valid_minutes} minutes. If it was not you, ignore this message: your password stays as it is."
            ),
        )),
        headers: Vec::new(),
        tags: Vec::new(),
    }
}

/// Extracts the link token from a message built by this module (tests and the dev outbox).
pub fn link_token(text: &str) -> Option<String> {
    let start = text.find("token=")? + "token=".len();
    let token: String = text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || "-_.%".contains(*c))
        .collect();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_can_be_read_back_from_the_text() {
        let to = Email::parse("a@example.com").unwrap();
        let message = verification(&to, "http://localhost/verify-email?token=v1.abc.def", 24);
        assert_eq!(link_token(&message.text).as_deref(), Some("v1.abc.def"));
        assert!(message.html.unwrap().contains("token=v1.abc.def"));
    }
}
