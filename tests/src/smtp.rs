//! A recording SMTP server on 127.0.0.1: enough of RFC 5321 for a client to deliver mail.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// One delivered message: envelope recipients and the raw DATA.
#[derive(Debug, Clone)]
pub struct Received {
    pub recipients: Vec<String>,
    pub data: String,
}

pub struct SmtpRecorder {
    pub port: u16,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl SmtpRecorder {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let sink = Arc::clone(&sink);
                std::thread::spawn(move || {
                    let _ = session(stream, &sink);
                });
            }
        });
        Self { port, received }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }
}

fn session(stream: TcpStream, sink: &Mutex<Vec<Received>>) -> std::io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    writer.write_all(b"220 recorder.test ESMTP\r\n")?;
    let mut recipients = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let command = line.trim_end().to_ascii_uppercase();
        if command.starts_with("EHLO") {
            writer.write_all(b"250-recorder.test\r\n250 8BITMIME\r\n")?;
        } else if command.starts_with("HELO") || command.starts_with("MAIL FROM") {
            recipients.clear();
            writer.write_all(b"250 OK\r\n")?;
        } else if command.starts_with("RCPT TO") {
            let address = line
                .trim_end()
                .split_once(':')
                .map(|(_, rest)| rest.trim().trim_matches(['<', '>']).to_string())
                .unwrap_or_default();
            recipients.push(address);
            writer.write_all(b"250 OK\r\n")?;
        } else if command == "DATA" {
            writer.write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")?;
            let mut data = String::new();
            loop {
                line.clear();
                if reader.read_line(&mut line)? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            let number = match sink.lock() {
                Ok(mut sink) => {
                    sink.push(Received {
                        recipients: recipients.clone(),
                        data,
                    });
                    sink.len()
                }
                Err(_) => 0,
            };
            writer.write_all(format!("250 OK queued as message-{number}\r\n").as_bytes())?;
        } else if command == "QUIT" {
            writer.write_all(b"221 Bye\r\n")?;
            return Ok(());
        } else if command.starts_with("NOOP") || command.starts_with("RSET") {
            writer.write_all(b"250 OK\r\n")?;
        } else {
            writer.write_all(b"502 Command not implemented\r\n")?;
        }
    }
}
