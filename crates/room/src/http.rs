//! The learner's side of HTTP: one POST of JSON to the room, within a deadline, with the
//! standard library alone. The room speaks plain HTTP on the room's own network, so no TLS,
//! and a client this small compiles in seconds at a learner's first verify.
//!
//! The deadline covers everything, the name lookup included (done on a thread of its own,
//! since the standard library's lookup cannot be given a timeout): a room out of reach costs
//! a verify at most the deadline.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The room's address for learners: `http://HOST:PORT/r/CODE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomUrl {
    pub host: String,
    pub port: u16,
    pub path: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "ROOM={0:?} is not a room's address: `make room` prints it as ROOM=http://HOST:PORT/r/CODE"
)]
pub struct BadUrl(pub String);

impl RoomUrl {
    pub fn parse(text: &str) -> Result<RoomUrl, BadUrl> {
        let bad = || BadUrl(text.to_owned());
        let rest = text.trim().strip_prefix("http://").ok_or_else(bad)?;
        let (authority, path) = rest.split_at(rest.find('/').ok_or_else(bad)?);
        let (host, port) = match authority.rsplit_once(':') {
            // [::1]:8080, or host:8080
            Some((host, port)) if !port.contains(']') => {
                (host, port.parse::<u16>().map_err(|_| bad())?)
            }
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let code = path.strip_prefix("/r/").ok_or_else(bad)?;
        let code_ok = !code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric());
        if host.is_empty() || !code_ok {
            return Err(bad());
        }
        Ok(RoomUrl {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }

    /// `host:port` as the Host header wants it.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// The server's answer: its status and the start of its body (its message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub body: String,
}

/// Why no answer came.
#[derive(Debug, thiserror::Error)]
pub enum Unreached {
    #[error("its name was not found in time")]
    Lookup,
    #[error("no answer within the deadline")]
    Deadline,
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("its answer was not HTTP")]
    NotHttp,
}

/// The most of an answer read: the room's messages are a line.
const REPLY_MAX: u64 = 16 * 1024;

/// POSTs `json` to the room's path, ending by `deadline`.
pub fn post(url: &RoomUrl, json: &[u8], deadline: Instant) -> Result<Reply, Unreached> {
    let addrs = lookup(url, deadline)?;
    let mut last = Unreached::Deadline;
    for addr in addrs {
        let left = remaining(deadline)?;
        match TcpStream::connect_timeout(&addr, left) {
            Ok(stream) => return exchange(stream, url, json, deadline),
            Err(e) => last = Unreached::Io(e),
        }
    }
    Err(last)
}

fn remaining(deadline: Instant) -> Result<Duration, Unreached> {
    deadline
        .checked_duration_since(Instant::now())
        .filter(|d| !d.is_zero())
        .ok_or(Unreached::Deadline)
}

fn lookup(url: &RoomUrl, deadline: Instant) -> Result<Vec<SocketAddr>, Unreached> {
    if let Ok(ip) = url.host.parse() {
        return Ok(vec![SocketAddr::new(ip, url.port)]);
    }
    let (tx, rx) = mpsc::channel();
    let target = (url.host.clone(), url.port);
    // Left to finish on its own when the deadline passes: the process ends soon after.
    std::thread::spawn(move || {
        let _ = tx.send(target.to_socket_addrs().map(Vec::from_iter));
    });
    match rx.recv_timeout(remaining(deadline)?) {
        Ok(found) => Ok(found?),
        Err(_) => Err(Unreached::Lookup),
    }
}

fn exchange(
    mut stream: TcpStream,
    url: &RoomUrl,
    json: &[u8],
    deadline: Instant,
) -> Result<Reply, Unreached> {
    stream.set_write_timeout(Some(remaining(deadline)?))?;
    let head = format!(
        "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        url.path,
        url.authority(),
        json.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(json)?;
    let mut answer = Vec::new();
    loop {
        stream.set_read_timeout(Some(remaining(deadline)?))?;
        let mut chunk = [0u8; 4096];
        let n = match stream.read(&mut chunk) {
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(Unreached::Deadline)
            }
            Err(e) => return Err(e.into()),
        };
        answer.extend_from_slice(&chunk[..n]);
        if n == 0 || answer.len() as u64 >= REPLY_MAX {
            break;
        }
    }
    parse_reply(&answer)
}

fn parse_reply(answer: &[u8]) -> Result<Reply, Unreached> {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").ok_or(Unreached::NotHttp)?;
    let status = head
        .strip_prefix("HTTP/1.1 ")
        .or_else(|| head.strip_prefix("HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or(Unreached::NotHttp)?;
    Ok(Reply {
        status,
        body: body.trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_addresses() {
        let u = RoomUrl::parse("http://10.0.0.5:8737/r/k3x9").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.path.as_str()),
            ("10.0.0.5", 8737, "/r/k3x9")
        );
        let u = RoomUrl::parse("http://login1.hpc.example.org/r/abc").unwrap();
        assert_eq!(
            (u.port, u.authority().as_str()),
            (80, "login1.hpc.example.org:80")
        );
        let u = RoomUrl::parse("http://[::1]:9000/r/abc").unwrap();
        assert_eq!(
            (u.host.as_str(), u.authority().as_str()),
            ("::1", "[::1]:9000")
        );
        for bad in [
            "",
            "https://h:1/r/abc",
            "http://h:1/i/abc",
            "http://h:1/r/",
            "http://h:99999/r/abc",
            "http://h:1/r/a b",
            "http://h:1/r/abc?x=1",
            "h:1/r/abc",
        ] {
            assert!(RoomUrl::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn replies() {
        let r = parse_reply(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 5\r\n\r\nnope\n").unwrap();
        assert_eq!((r.status, r.body.as_str()), (403, "nope"));
        assert!(parse_reply(b"SSH-2.0-OpenSSH\r\n").is_err());
    }

    #[test]
    fn a_closed_port_fails_at_once_and_a_silent_one_by_the_deadline() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = closed.local_addr().unwrap().port();
        drop(closed);
        let url = RoomUrl::parse(&format!("http://127.0.0.1:{port}/r/abc")).unwrap();
        let started = Instant::now();
        assert!(post(&url, b"{}", started + Duration::from_secs(5)).is_err());
        assert!(started.elapsed() < Duration::from_secs(2));
        // Accepts, never answers.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = RoomUrl::parse(&format!(
            "http://127.0.0.1:{}/r/abc",
            silent.local_addr().unwrap().port()
        ))
        .unwrap();
        let started = Instant::now();
        let e = post(&url, b"{}", started + Duration::from_millis(300)).unwrap_err();
        assert!(matches!(e, Unreached::Deadline), "{e}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
}
