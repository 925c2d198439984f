//! For tests (this crate's and the CLI's): a small HTTP server on the loopback address
//! that answers from a routing function and records what it was asked, a CONNECT proxy
//! that records the tunnels it opened, and writers for the archive formats forge unpacks.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// An answer: status, extra headers, body.
pub type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// A request as the server saw it: the path (with query) and its Authorization header.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub authorization: Option<String>,
}

/// A server on 127.0.0.1; it stops (and its port refuses connections) when dropped.
pub struct Server {
    pub port: u16,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts a server answering each GET with `route(path)`.
    pub fn start(route: impl Fn(&str) -> Answer + Send + Sync + 'static) -> Server {
        let route = Arc::new(route);
        Server::serve(move |stream, seen| answer(stream, seen, route.as_ref()))
    }

    /// Starts a proxy: each `CONNECT host:port` is recorded (its `path` is the target, its
    /// `authorization` the Proxy-Authorization header), answered 200 and piped both ways
    /// to the target; a plain-HTTP request in absolute form (`GET http://host:port/...`,
    /// how clients send `http://` requests to a proxy) is recorded with its URL as `path`
    /// and forwarded to its host as it came.
    pub fn connect_proxy() -> Server {
        Server::serve(tunnel)
    }

    /// Accepts connections on a loopback port, each handled on its own thread.
    fn serve(handle: impl Fn(TcpStream, &Mutex<Vec<Seen>>) + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let handle = Arc::new(handle);
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop2.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let (seen, handle) = (seen2.clone(), handle.clone());
                std::thread::spawn(move || handle(stream, &seen));
            }
        });
        Server {
            port,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The paths asked, in order.
    pub fn paths(&self) -> Vec<String> {
        self.seen
            .lock()
            .map(|s| s.iter().map(|r| r.path.clone()).collect())
            .unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag and drops the listener.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Reads a request's head: its target (the second word of the first line) and the
/// value of the header `credentials_header`; records them and returns the target and the
/// head as it came (to forward it).
fn read_head(
    stream: &TcpStream,
    credentials_header: &str,
    seen: &Mutex<Vec<Seen>>,
) -> Option<(String, String)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let mut raw = line.clone();
    let mut authorization = None;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
            raw.push_str("\r\n");
            break;
        }
        raw.push_str(&header);
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case(credentials_header)
        {
            authorization = Some(value.trim().to_string());
        }
    }
    if let Ok(mut s) = seen.lock() {
        s.push(Seen {
            path: path.clone(),
            authorization,
        });
    }
    Some((path, raw))
}

fn tunnel(stream: TcpStream, seen: &Mutex<Vec<Seen>>) {
    let Some((target, head)) = read_head(&stream, "proxy-authorization", seen) else {
        return;
    };
    // `http://host:port/path`: forwarded as it came; otherwise `host:port` to tunnel to.
    let forward_to = target
        .strip_prefix("http://")
        .map(|rest| rest.split('/').next().unwrap_or(rest).to_string());
    let mut client = stream;
    let Ok(mut upstream) = TcpStream::connect(forward_to.as_deref().unwrap_or(&target)) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let opened = match forward_to {
        Some(_) => upstream.write_all(head.as_bytes()),
        None => client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n"),
    };
    if opened.is_err() {
        return;
    }
    let (Ok(mut client_in), Ok(mut upstream_out)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let forward = std::thread::spawn(move || {
        let _ = std::io::copy(&mut client_in, &mut upstream_out);
        let _ = upstream_out.shutdown(std::net::Shutdown::Write);
    });
    let mut upstream_in = upstream;
    let _ = std::io::copy(&mut upstream_in, &mut client);
    let _ = client.shutdown(std::net::Shutdown::Write);
    let _ = forward.join();
}

fn answer(
    stream: TcpStream,
    seen: &Mutex<Vec<Seen>>,
    route: &(dyn Fn(&str) -> Answer + Send + Sync),
) {
    let Some((path, _)) = read_head(&stream, "authorization", seen) else {
        return;
    };
    let (status, headers, body) = route(&path);
    let mut out = stream;
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = out.write_all(head.as_bytes());
    let _ = out.write_all(&body);
    let _ = out.flush();
}

/// One archive member: a name, and its content (`None`: a folder) or a symlink target.
pub enum Member<'a> {
    File(&'a str, &'a [u8]),
    Dir(&'a str),
    Symlink(&'a str, &'a str),
}

/// A ustar archive of the members.
pub fn tar(members: &[Member<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    for member in members {
        let (name, kind, data, link): (&str, u8, &[u8], &str) = match member {
            Member::File(n, d) => (n, b'0', d, ""),
            Member::Dir(n) => (n, b'5', &[], ""),
            Member::Symlink(n, t) => (n, b'2', &[], t),
        };
        let mut header = [0u8; 512];
        header[..name.len()].copy_from_slice(name.as_bytes());
        header[100..107].copy_from_slice(b"0000644");
        header[108..115].copy_from_slice(b"0000000");
        header[116..123].copy_from_slice(b"0000000");
        header[124..135].copy_from_slice(format!("{:011o}", data.len()).as_bytes());
        header[136..147].copy_from_slice(b"00000000000");
        header[156] = kind;
        header[157..157 + link.len()].copy_from_slice(link.as_bytes());
        header[257..263].copy_from_slice(b"ustar\0");
        header[263..265].copy_from_slice(b"00");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|b| u32::from(*b)).sum();
        header[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        out.extend_from_slice(&header);
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.resize(out.len() + 1024, 0);
    out
}

/// A gzip-compressed ustar archive of the members.
pub fn tar_gz(members: &[Member<'_>]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(&tar(members)).expect("gzip");
    encoder.finish().expect("gzip")
}

/// A zip archive of the members, deflated.
pub fn zip(members: &[Member<'_>]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for member in members {
        let (name, data, mode): (&str, &[u8], u32) = match member {
            Member::File(n, d) => (n, d, 0o100_644),
            Member::Dir(n) => (n, &[], 0o040_755),
            Member::Symlink(n, t) => (n, t.as_bytes(), 0o120_777),
        };
        let mut crc = flate2::Crc::new();
        crc.update(data);
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).expect("deflate");
        let packed = encoder.finish().expect("deflate");
        let offset = out.len() as u32;
        let fixed = |buf: &mut Vec<u8>| {
            buf.extend_from_slice(&20u16.to_le_bytes()); // version needed
            buf.extend_from_slice(&0u16.to_le_bytes()); // flags
            buf.extend_from_slice(&8u16.to_le_bytes()); // deflate
            buf.extend_from_slice(&0u32.to_le_bytes()); // time, date
            buf.extend_from_slice(&crc.sum().to_le_bytes());
            buf.extend_from_slice(&(packed.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(data.len() as u32).to_le_bytes());
            buf.extend_from_slice(&(name.len() as u16).to_le_bytes());
            buf.extend_from_slice(&0u16.to_le_bytes()); // extra
        };
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        fixed(&mut out);
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(&packed);
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&(3u16 << 8 | 20).to_le_bytes()); // made by unix
        fixed(&mut central);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&(mode << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
    }
    let at = out.len() as u32;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(members.len() as u16).to_le_bytes());
    out.extend_from_slice(&(central.len() as u32).to_le_bytes());
    out.extend_from_slice(&at.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// Reads a file to a string, for assertions.
pub fn read(path: &std::path::Path) -> String {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}
