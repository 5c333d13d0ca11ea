//! A recording HTTP/1.1 server on 127.0.0.1 standing in for third-party APIs (Twilio, Discord,
//! Slack, webhook receivers, push services): it keeps every request and answers each with the
//! status and body the test chose.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    /// Lower-case header names.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
    /// The status it was answered with.
    pub status: u16,
}

impl Recorded {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body's `application/x-www-form-urlencoded` fields.
    pub fn form(&self) -> BTreeMap<String, String> {
        url_decode_pairs(&self.text())
    }
}

fn url_decode_pairs(text: &str) -> BTreeMap<String, String> {
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (percent_decode(name), percent_decode(value))
        })
        .collect()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.replace('+', " ").into_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(byte) = u8::from_str_radix(&String::from_utf8_lossy(&bytes[i + 1..i + 3]), 16)
            {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// What the recorder answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// A misbehaviour the recorder can put in place of its normal answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this status (and the normal body).
    Status(u16),
    /// Read the request, then say nothing for this long and close: the client times out.
    /// Recorded with status 0.
    Silence(Duration),
    /// The normal answer, after this long.
    Delay(Duration),
    /// The normal status and headers at once, then the body one byte per this pause.
    SlowBody(Duration),
}

/// Which fault, if any, the n-th request (counting from 1) with these headers meets.
type FaultPlan = Arc<dyn Fn(usize, &BTreeMap<String, String>) -> Option<Fault> + Send + Sync>;

#[derive(Clone)]
struct Behaviour {
    reply: Reply,
    faults: Option<FaultPlan>,
}

pub struct HttpRecorder {
    pub port: u16,
    received: Arc<Mutex<Vec<Recorded>>>,
    behaviour: Arc<Mutex<Behaviour>>,
}

impl HttpRecorder {
    /// Starts a recorder answering every request with `status` and `body` (JSON).
    pub fn start(status: u16, body: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let behaviour = Arc::new(Mutex::new(Behaviour {
            reply: Reply {
                status,
                body: body.to_string(),
            },
            faults: None,
        }));
        let (sink, answer) = (Arc::clone(&received), Arc::clone(&behaviour));
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (sink, answer) = (Arc::clone(&sink), Arc::clone(&answer));
                std::thread::spawn(move || {
                    let _ = serve(stream, &sink, &answer);
                });
            }
        });
        Self {
            port,
            received,
            behaviour,
        }
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn set_reply(&self, status: u16, body: &str) {
        let mut behaviour = self.behaviour.lock().unwrap();
        behaviour.reply.status = status;
        behaviour.reply.body = body.to_string();
    }

    /// Answers every `n`-th request with `status` from now on (n = 5: 20 % failures).
    pub fn fail_every(&self, n: usize, status: u16) {
        let n = n.max(1);
        self.inject(move |number, _| number.is_multiple_of(n).then_some(Fault::Status(status)));
    }

    /// From now on the n-th request (counting from the first ever received) meets
    /// `plan(n, its lower-case headers)`.
    pub fn inject(
        &self,
        plan: impl Fn(usize, &BTreeMap<String, String>) -> Option<Fault> + Send + Sync + 'static,
    ) {
        self.behaviour.lock().unwrap().faults = Some(Arc::new(plan));
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.received.lock().unwrap().clone()
    }
}

fn serve(
    stream: TcpStream,
    sink: &Mutex<Vec<Recorded>>,
    behaviour: &Mutex<Behaviour>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        // A client that dies mid-request sent no request: end of input before the blank line
        // is not recorded.
        if reader.read_line(&mut header)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
        }
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let Behaviour { reply, faults } = behaviour.lock().unwrap().clone();
    let (status, fault) = {
        let mut sink = sink.lock().unwrap();
        let number = sink.len() + 1;
        let fault = faults.and_then(|plan| plan(number, &headers));
        let status = match fault {
            Some(Fault::Status(failure)) => failure,
            Some(Fault::Silence(_)) => 0,
            _ => reply.status,
        };
        sink.push(Recorded {
            method,
            path,
            headers,
            body,
            status,
        });
        (status, fault)
    };
    let mut stream = stream;
    match fault {
        Some(Fault::Silence(wait)) => {
            std::thread::sleep(wait);
            return Ok(());
        }
        Some(Fault::Delay(wait)) => std::thread::sleep(wait),
        _ => {}
    }
    let body = reply.body;
    write!(
        stream,
        "HTTP/1.1 {status} Recorded\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    stream.flush()?;
    match fault {
        Some(Fault::SlowBody(pause)) => {
            for byte in body.as_bytes() {
                std::thread::sleep(pause);
                stream.write_all(std::slice::from_ref(byte))?;
                stream.flush()?;
            }
        }
        _ => stream.write_all(body.as_bytes())?,
    }
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode() {
        let form = url_decode_pairs("To=%2B14155550123&Body=Your+code%3A+123456");
        assert_eq!(form["To"], "+14155550123");
        assert_eq!(form["Body"], "Your code: 123456");
    }
}
