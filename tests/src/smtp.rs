//! An in-process SMTP sink: a tiny RFC 5321 server on loopback that accepts every message
//! (plain TCP, no TLS), keeps it in memory parsed with `mailparse`, and lets a test wait for it.
//!
//! It speaks enough ESMTP for `lettre`'s SMTP client (`Tls::None`, with or without
//! credentials, pooled connections that send `RSET`/`NOOP` and reuse the connection, `QUIT`).
//! `PIPELINING` is deliberately not advertised, so clients wait for each reply.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use mailparse::{DispositionType, MailHeaderMap, ParsedMail};
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the sink answers to `EHLO`: no `PIPELINING`, no `STARTTLS`.
const EHLO_REPLY: &str =
    "250-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-AUTH PLAIN LOGIN\r\n250 SIZE 10485760";

/// One message accepted by the sink, with its envelope and its parsed content.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// Envelope sender (`MAIL FROM`), without the angle brackets.
    pub mail_from: String,
    /// Envelope recipients (`RCPT TO`), without the angle brackets, in the order given.
    pub rcpt_to: Vec<String>,
    /// The credentials the client authenticated with on that connection, if it did.
    pub auth: Option<(String, String)>,
    /// The DATA as received (dot-stuffing undone, CRLF line endings).
    pub raw: Vec<u8>,
    /// The `Subject` header, RFC 2047 words decoded.
    pub subject: String,
    /// The `From` header, decoded.
    pub from: String,
    /// The `To` header, decoded.
    pub to: String,
    /// The `Reply-To` header, decoded, if present.
    pub reply_to: Option<String>,
    /// The first `text/plain` part, transfer encoding and charset decoded; `""` if none.
    pub text: String,
    /// The first `text/html` part, transfer encoding and charset decoded; `""` if none.
    pub html: String,
    /// The top-level headers in order, values decoded.
    pub headers: Vec<(String, String)>,
}

impl ReceivedMail {
    /// Parses `raw` (the DATA of one transaction) and keeps the envelope alongside.
    fn parse(
        mail_from: String,
        rcpt_to: Vec<String>,
        auth: Option<(String, String)>,
        raw: Vec<u8>,
    ) -> Self {
        let (headers, text, html) = match mailparse::parse_mail(&raw) {
            Ok(parsed) => {
                let headers: Vec<(String, String)> = parsed
                    .headers
                    .iter()
                    .map(|h| (h.get_key(), h.get_value()))
                    .collect();
                let (mut text, mut html) = (None, None);
                collect_bodies(&parsed, &mut text, &mut html);
                (headers, text.unwrap_or_default(), html.unwrap_or_default())
            }
            Err(_) => (Vec::new(), String::new(), String::new()),
        };
        let subject = find_header(&headers, "Subject").unwrap_or_default();
        let from = find_header(&headers, "From").unwrap_or_default();
        let to = find_header(&headers, "To").unwrap_or_default();
        let reply_to = find_header(&headers, "Reply-To");
        Self {
            mail_from,
            rcpt_to,
            auth,
            raw,
            subject,
            from,
            to,
            reply_to,
            text,
            html,
            headers,
        }
    }

    /// The first http(s) URL in the text part (else the html part) that contains `needle`;
    /// panics with the message bodies if there is none.
    pub fn link(&self, needle: &str) -> String {
        find_link(&self.text, needle, false)
            .or_else(|| find_link(&self.html, needle, true))
            .unwrap_or_else(|| {
                panic!(
                    "no http(s) link containing {needle:?} in the mail to {:?} (subject {:?})\n\
                     --- text ---\n{}\n--- html ---\n{}",
                    self.rcpt_to, self.subject, self.text, self.html
                )
            })
    }

    /// The percent-decoded value of the query parameter `name` (e.g. `token`) of
    /// `link(needle)`; a parameter in the fragment (`#token=...`) counts too. Panics if absent.
    pub fn query_param(&self, needle: &str, name: &str) -> String {
        let link = self.link(needle);
        let parsed =
            url::Url::parse(&link).unwrap_or_else(|e| panic!("invalid link {link:?}: {e}"));
        parsed
            .query_pairs()
            .chain(url::form_urlencoded::parse(
                parsed.fragment().unwrap_or_default().as_bytes(),
            ))
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
            .unwrap_or_else(|| panic!("no {name:?} parameter in {link}"))
    }

    /// The decoded value of the first top-level header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<String> {
        find_header(&self.headers, name)
    }

    /// Whether `rcpt` (case-insensitive) is one of the envelope recipients.
    fn is_to(&self, rcpt: &str) -> bool {
        self.rcpt_to.iter().any(|r| r.eq_ignore_ascii_case(rcpt))
    }
}

fn find_header(headers: &[(String, String)], name: &str) -> Option<String> {
    headers
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.clone())
}

/// Walks the MIME tree depth-first and keeps the first non-attachment `text/plain` and
/// `text/html` bodies.
fn collect_bodies(part: &ParsedMail<'_>, text: &mut Option<String>, html: &mut Option<String>) {
    if !part.subparts.is_empty() {
        for sub in &part.subparts {
            collect_bodies(sub, text, html);
        }
        return;
    }
    if let Some(disposition) = part.headers.get_first_value("Content-Disposition") {
        let disposition = mailparse::parse_content_disposition(&disposition);
        if matches!(disposition.disposition, DispositionType::Attachment) {
            return;
        }
    }
    let mimetype = part.ctype.mimetype.as_str();
    let slot = if mimetype.eq_ignore_ascii_case("text/plain") {
        text
    } else if mimetype.eq_ignore_ascii_case("text/html") {
        html
    } else {
        return;
    };
    if slot.is_none() {
        *slot = part.get_body().ok();
    }
}

/// The first `http://` or `https://` URL in `body` containing `needle`. A URL ends at
/// whitespace, a quote, `<`, `>` or `)`; trailing sentence punctuation is dropped, and in HTML
/// `&amp;` is decoded.
fn find_link(body: &str, needle: &str, html: bool) -> Option<String> {
    let mut rest = body;
    while let Some(start) = next_url_start(rest) {
        let candidate = &rest[start..];
        let end = candidate
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | ')'))
            .unwrap_or(candidate.len());
        let found = candidate[..end].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let found = if html {
            found.replace("&amp;", "&")
        } else {
            found.to_owned()
        };
        if found.contains(needle) {
            return Some(found);
        }
        rest = &candidate[end..];
    }
    None
}

fn next_url_start(s: &str) -> Option<usize> {
    match (s.find("http://"), s.find("https://")) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The connection tasks, and whether the sink was stopped (then no new ones are started).
#[derive(Default)]
struct Tasks {
    stopped: bool,
    handles: Vec<JoinHandle<()>>,
}

/// State shared by the sink handle, the accept loop and the connection tasks.
struct Shared {
    /// `(user, password)` that clients must authenticate with, if any.
    credentials: Option<(String, String)>,
    messages: Mutex<Vec<ReceivedMail>>,
    /// Bumped after every accepted message, to wake waiters.
    arrived: watch::Sender<u64>,
    tasks: Mutex<Tasks>,
}

/// Locks a mutex, ignoring poisoning (a panicking test must not cascade into `Drop`).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running SMTP sink on 127.0.0.1. Dropping it stops it.
pub struct SmtpSink {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

impl SmtpSink {
    /// Starts a sink on an ephemeral port that accepts any (or no) credentials.
    pub async fn start() -> Self {
        Self::launch(0, None).await
    }

    /// Starts a sink on a fixed port (retrying the bind for up to 5 s while the port is busy).
    pub async fn start_on(port: u16) -> Self {
        Self::launch(port, None).await
    }

    /// Starts a sink on an ephemeral port that requires `AUTH` with these credentials before
    /// `MAIL FROM`.
    pub async fn start_with_auth(user: &str, pass: &str) -> Self {
        Self::launch(0, Some((user.to_owned(), pass.to_owned()))).await
    }

    async fn launch(port: u16, credentials: Option<(String, String)>) -> Self {
        let listener = bind(port).await;
        let addr = listener.local_addr().expect("SMTP sink address");
        let (arrived, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            credentials,
            messages: Mutex::new(Vec::new()),
            arrived,
            tasks: Mutex::new(Tasks::default()),
        });
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Self {
            addr,
            shared,
            accept,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Every message accepted so far, in arrival order.
    pub fn messages(&self) -> Vec<ReceivedMail> {
        lock(&self.shared.messages).clone()
    }

    /// Every message accepted so far with `rcpt` (case-insensitive) among its recipients.
    pub fn messages_to(&self, rcpt: &str) -> Vec<ReceivedMail> {
        lock(&self.shared.messages)
            .iter()
            .filter(|m| m.is_to(rcpt))
            .cloned()
            .collect()
    }

    /// Waits until at least `count` messages arrived and returns all of them; panics after
    /// `timeout` with what did arrive.
    pub async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<ReceivedMail> {
        self.wait_until(timeout, &format!("{count} message(s)"), |messages| {
            (messages.len() >= count).then(|| messages.to_vec())
        })
        .await
    }

    /// Waits for the first message with `rcpt` (case-insensitive) among its recipients; panics
    /// after `timeout` with what did arrive.
    pub async fn wait_for_rcpt(&self, rcpt: &str, timeout: Duration) -> ReceivedMail {
        self.wait_until(timeout, &format!("a message to {rcpt}"), |messages| {
            messages.iter().find(|m| m.is_to(rcpt)).cloned()
        })
        .await
    }

    /// Waits for the first message to `rcpt` whose text part contains `needle` (e.g. the path
    /// of the link it carries); panics after `timeout`.
    pub async fn wait_for_text(&self, rcpt: &str, needle: &str, timeout: Duration) -> ReceivedMail {
        self.wait_until(
            timeout,
            &format!("a message to {rcpt} containing {needle}"),
            |messages| {
                messages
                    .iter()
                    .find(|m| m.is_to(rcpt) && m.text.contains(needle))
                    .cloned()
            },
        )
        .await
    }

    async fn wait_until<T>(
        &self,
        timeout: Duration,
        what: &str,
        mut check: impl FnMut(&[ReceivedMail]) -> Option<T>,
    ) -> T {
        let deadline = tokio::time::Instant::now() + timeout;
        // Subscribe before looking, so a message that lands in between still wakes us.
        let mut arrivals = self.shared.arrived.subscribe();
        loop {
            {
                let messages = lock(&self.shared.messages);
                if let Some(found) = check(messages.as_slice()) {
                    return found;
                }
            }
            if tokio::time::timeout_at(deadline, arrivals.changed())
                .await
                .is_err()
            {
                let messages = self.messages();
                let summary: Vec<String> = messages
                    .iter()
                    .map(|m| format!("to {:?}: {:?}", m.rcpt_to, m.subject))
                    .collect();
                panic!(
                    "timed out after {timeout:?} waiting for {what}; the SMTP sink on port {} \
                     received {} message(s): {summary:#?}",
                    self.port(),
                    messages.len()
                );
            }
        }
    }

    /// Stops listening and closes open connections (dropping the sink does the same). The
    /// listening socket closes once the runtime has run the aborted accept task; a connection
    /// accepted in the meantime is closed at once, without a greeting.
    pub fn stop(&self) {
        self.accept.abort();
        let handles = {
            let mut tasks = lock(&self.shared.tasks);
            tasks.stopped = true;
            std::mem::take(&mut tasks.handles)
        };
        for handle in handles {
            handle.abort();
        }
    }
}

impl Drop for SmtpSink {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A loopback port with nothing listening on it (bound to :0, then released).
pub fn unused_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("bind an ephemeral port")
        .port()
}

/// Binds 127.0.0.1:`port`; a fixed port that is busy is retried for up to 5 s.
async fn bind(port: u16) -> TcpListener {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match TcpListener::bind(("127.0.0.1", port)).await {
            Ok(listener) => return listener,
            Err(_) if port != 0 && tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("bind the SMTP sink on 127.0.0.1:{port}: {e}"),
        }
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(_) => {
                // E.g. out of file descriptors: back off instead of spinning.
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let mut tasks = lock(&shared.tasks);
        if tasks.stopped {
            return;
        }
        tasks.handles.retain(|handle| !handle.is_finished());
        let conn_shared = Arc::clone(&shared);
        tasks.handles.push(tokio::spawn(async move {
            let _ = serve(stream, &conn_shared).await;
        }));
    }
}

/// The SMTP state of one connection.
#[derive(Default)]
struct Session {
    auth: Option<(String, String)>,
    mail_from: Option<String>,
    rcpt_to: Vec<String>,
}

impl Session {
    fn reset_transaction(&mut self) {
        self.mail_from = None;
        self.rcpt_to.clear();
    }
}

/// Runs one SMTP session until `QUIT`, end of stream or an I/O error.
async fn serve(stream: TcpStream, shared: &Shared) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut session = Session::default();
    reply(&mut write, "220 sink ESMTP").await?;
    while let Some(line) = read_line(&mut reader).await? {
        let (verb, arg) = match line.split_once(' ') {
            Some((verb, arg)) => (verb, arg.trim()),
            None => (line.trim(), ""),
        };
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => {
                session.reset_transaction();
                reply(&mut write, EHLO_REPLY).await?;
            }
            "HELO" => {
                session.reset_transaction();
                reply(&mut write, "250 sink").await?;
            }
            "AUTH" => {
                let mut words = arg.split_whitespace();
                let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
                let initial = words.next();
                let credentials = match mechanism.as_str() {
                    "PLAIN" => {
                        let response = match initial {
                            Some(response) => response.to_owned(),
                            None => {
                                reply(&mut write, "334 ").await?;
                                let Some(response) = read_line(&mut reader).await? else {
                                    return Ok(());
                                };
                                response
                            }
                        };
                        decode_plain(&response)
                    }
                    "LOGIN" => {
                        let user = match initial {
                            Some(user) => user.to_owned(),
                            None => {
                                reply(&mut write, "334 VXNlcm5hbWU6").await?;
                                let Some(user) = read_line(&mut reader).await? else {
                                    return Ok(());
                                };
                                user
                            }
                        };
                        reply(&mut write, "334 UGFzc3dvcmQ6").await?;
                        let Some(pass) = read_line(&mut reader).await? else {
                            return Ok(());
                        };
                        decode_base64(&user).zip(decode_base64(&pass))
                    }
                    _ => {
                        reply(&mut write, "504 5.5.4 Unrecognized authentication type").await?;
                        continue;
                    }
                };
                let Some((user, pass)) = credentials else {
                    reply(&mut write, "501 5.5.2 Cannot decode the response").await?;
                    continue;
                };
                let accepted = shared
                    .credentials
                    .as_ref()
                    .is_none_or(|(u, p)| *u == user && *p == pass);
                if accepted {
                    session.auth = Some((user, pass));
                    reply(&mut write, "235 2.7.0 Authentication successful").await?;
                } else {
                    reply(&mut write, "535 5.7.8 Authentication failed").await?;
                }
            }
            "MAIL" => {
                if shared.credentials.is_some() && session.auth.is_none() {
                    reply(&mut write, "530 5.7.0 Authentication required").await?;
                } else if let Some(from) = parse_path(arg, "FROM:") {
                    session.reset_transaction();
                    session.mail_from = Some(from);
                    reply(&mut write, "250 2.1.0 OK").await?;
                } else {
                    reply(&mut write, "501 5.5.4 Syntax: MAIL FROM:<address>").await?;
                }
            }
            "RCPT" => {
                if session.mail_from.is_none() {
                    reply(&mut write, "503 5.5.1 Bad sequence of commands").await?;
                } else if let Some(to) = parse_path(arg, "TO:") {
                    session.rcpt_to.push(to);
                    reply(&mut write, "250 2.1.5 OK").await?;
                } else {
                    reply(&mut write, "501 5.5.4 Syntax: RCPT TO:<address>").await?;
                }
            }
            "DATA" => {
                if session.mail_from.is_none() || session.rcpt_to.is_empty() {
                    reply(&mut write, "503 5.5.1 Bad sequence of commands").await?;
                } else {
                    reply(&mut write, "354 End data with <CR><LF>.<CR><LF>").await?;
                    let Some(raw) = read_data(&mut reader).await? else {
                        return Ok(());
                    };
                    let mail_from = session.mail_from.take().unwrap_or_default();
                    let rcpt_to = std::mem::take(&mut session.rcpt_to);
                    let mail = ReceivedMail::parse(mail_from, rcpt_to, session.auth.clone(), raw);
                    // Stored before the reply, so a client that got its 250 finds it at once.
                    deliver(shared, mail);
                    reply(&mut write, "250 2.0.0 OK queued").await?;
                }
            }
            "RSET" => {
                session.reset_transaction();
                reply(&mut write, "250 2.0.0 OK").await?;
            }
            "NOOP" => reply(&mut write, "250 2.0.0 OK").await?,
            "QUIT" => {
                reply(&mut write, "221 Bye").await?;
                return Ok(());
            }
            _ => reply(&mut write, "502 5.5.2 Command not recognized").await?,
        }
    }
    Ok(())
}

fn deliver(shared: &Shared, mail: ReceivedMail) {
    lock(&shared.messages).push(mail);
    shared.arrived.send_modify(|n| *n += 1);
}

/// Writes one reply (several lines joined by CRLF for a multi-line reply) and flushes.
async fn reply<W: AsyncWrite + Unpin>(write: &mut W, text: &str) -> std::io::Result<()> {
    write.write_all(format!("{text}\r\n").as_bytes()).await?;
    write.flush().await
}

/// Drops a trailing LF or CRLF.
fn strip_eol(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
}

/// Reads one line without its line ending (CRLF or bare LF); `None` at end of stream.
async fn read_line<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<String>> {
    let mut line = Vec::new();
    if reader.read_until(b'\n', &mut line).await? == 0 {
        return Ok(None);
    }
    strip_eol(&mut line);
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

/// Reads DATA up to the line that is exactly `.`, undoing dot-stuffing and storing every
/// line with CRLF; `None` if the peer hung up first.
async fn read_data<R: AsyncBufRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut raw = Vec::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).await? == 0 {
            return Ok(None);
        }
        strip_eol(&mut line);
        if line == b"." {
            return Ok(Some(raw));
        }
        let content = line.strip_prefix(b".").unwrap_or(line.as_slice());
        raw.extend_from_slice(content);
        raw.extend_from_slice(b"\r\n");
    }
}

/// The address of `FROM:<a@b> params` / `TO:<x@y>` (keyword case-insensitive), without the
/// angle brackets (`""` for the null path `<>`).
fn parse_path(arg: &str, keyword: &str) -> Option<String> {
    let head = arg.get(..keyword.len())?;
    if !head.eq_ignore_ascii_case(keyword) {
        return None;
    }
    let rest = arg[keyword.len()..].trim_start();
    match rest.strip_prefix('<') {
        Some(inner) => inner.find('>').map(|end| inner[..end].to_owned()),
        None => rest.split_whitespace().next().map(str::to_owned),
    }
}

fn decode_base64(text: &str) -> Option<String> {
    let bytes = BASE64.decode(text.trim()).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// `base64(authzid \0 user \0 password)` → `(user, password)`.
fn decode_plain(response: &str) -> Option<(String, String)> {
    let decoded = decode_base64(response)?;
    let mut fields = decoded.split('\0');
    let _authzid = fields.next()?;
    let user = fields.next()?;
    let pass = fields.next()?;
    Some((user.to_owned(), pass.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

    const WAIT: Duration = Duration::from_secs(5);

    fn b64(text: &str) -> String {
        base64::Engine::encode(&BASE64, text)
    }

    /// A raw SMTP client over a TCP stream.
    struct Client {
        reader: BufReader<OwnedReadHalf>,
        writer: OwnedWriteHalf,
    }

    impl Client {
        async fn connect(port: u16) -> Self {
            let stream = TcpStream::connect(("127.0.0.1", port))
                .await
                .expect("connect to the sink");
            let (read, writer) = stream.into_split();
            let mut client = Self {
                reader: BufReader::new(read),
                writer,
            };
            assert_eq!(client.reply().await, "220 sink ESMTP");
            client
        }

        /// Sends raw bytes as they are.
        async fn send_raw(&mut self, bytes: &[u8]) {
            self.writer.write_all(bytes).await.expect("write");
        }

        /// Sends one line with CRLF and returns the reply.
        async fn cmd(&mut self, line: &str) -> String {
            self.send_raw(format!("{line}\r\n").as_bytes()).await;
            self.reply().await
        }

        /// Sends one line and asserts that the reply starts with `code`.
        async fn expect(&mut self, line: &str, code: &str) {
            let reply = self.cmd(line).await;
            assert!(
                reply.starts_with(code),
                "{line:?} → {reply:?}, expected {code}"
            );
        }

        /// Reads a whole (possibly multi-line) reply; lines joined with `\n`.
        async fn reply(&mut self) -> String {
            let mut lines = Vec::new();
            loop {
                let line = read_line(&mut self.reader)
                    .await
                    .expect("read")
                    .expect("the sink closed the connection");
                let last = line.len() < 4 || line.as_bytes()[3] == b' ';
                lines.push(line);
                if last {
                    return lines.join("\n");
                }
            }
        }

        /// Whether the server closed the connection.
        async fn at_eof(&mut self) -> bool {
            read_line(&mut self.reader).await.expect("read").is_none()
        }
    }

    /// A multipart/alternative message in quoted-printable, as it is on the wire (CRLF,
    /// dot-stuffed: the text part has a line starting with a dot), ending with the `.` line.
    const MULTIPART_WIRE: &str = concat!(
        "From: Auth Service <noreply@example.com>\r\n",
        "To: alice@example.com\r\n",
        "Reply-To: support@example.com\r\n",
        "Subject: =?UTF-8?Q?V=C3=A9rify_your_email?=\r\n",
        "X-Custom: yes\r\n",
        "MIME-Version: 1.0\r\n",
        "Content-Type: multipart/alternative; boundary=\"BOUNDARY\"\r\n",
        "\r\n",
        "--BOUNDARY\r\n",
        "Content-Type: text/plain; charset=utf-8\r\n",
        "Content-Transfer-Encoding: quoted-printable\r\n",
        "\r\n",
        "Hello Al=C3=AFce,\r\n",
        "..leading dot line\r\n",
        "Confirm: https://app.example.com/verify?token=3Dabc%2B123&next=3D%2Fhome.\r\n",
        "Thanks\r\n",
        "--BOUNDARY\r\n",
        "Content-Type: text/html; charset=utf-8\r\n",
        "Content-Transfer-Encoding: quoted-printable\r\n",
        "\r\n",
        "<p>Hello Al=C3=AFce,</p>\r\n",
        "<a href=3D\"https://app.example.com/verify?token=3Dabc%2B123&amp;next=3D%2F=\r\n",
        "home\">Confirm</a>\r\n",
        "<a href=3D\"https://app.example.com/reset?token=3Dxyz&amp;lang=3Den\">Reset</a>\r\n",
        "--BOUNDARY--\r\n",
        ".\r\n",
    );

    #[tokio::test]
    async fn full_session_with_dot_stuffing_and_multipart() {
        let sink = SmtpSink::start().await;
        let mut client = Client::connect(sink.port()).await;

        let ehlo = client.cmd("EHLO client.example").await;
        assert!(ehlo.starts_with("250-sink\n"), "{ehlo}");
        assert!(ehlo.contains("250-8BITMIME"), "{ehlo}");
        assert!(ehlo.contains("250-AUTH PLAIN LOGIN"), "{ehlo}");
        assert!(ehlo.ends_with("\n250 SIZE 10485760"), "{ehlo}");
        assert!(!ehlo.contains("PIPELINING"), "{ehlo}");

        client
            .expect("mail from:<sender@example.com> BODY=8BITMIME", "250")
            .await;
        client.expect("RCPT TO:<alice@example.com>", "250").await;
        client.expect("rcpt to:<Bob@Example.com>", "250").await;
        assert_eq!(
            client.cmd("DATA").await,
            "354 End data with <CR><LF>.<CR><LF>"
        );
        client.send_raw(MULTIPART_WIRE.as_bytes()).await;
        assert_eq!(client.reply().await, "250 2.0.0 OK queued");

        let mail = sink.wait_for_rcpt("bob@example.com", WAIT).await;
        assert_eq!(mail.mail_from, "sender@example.com");
        assert_eq!(mail.rcpt_to, ["alice@example.com", "Bob@Example.com"]);
        assert_eq!(mail.auth, None);
        let raw = String::from_utf8(mail.raw.clone()).expect("ascii");
        assert!(raw.contains("\r\n.leading dot line\r\n"), "{raw}");
        assert!(!raw.contains(".."), "{raw}");
        assert!(raw.ends_with("--BOUNDARY--\r\n"), "{raw}");

        assert_eq!(mail.subject, "Vérify your email");
        assert_eq!(mail.from, "Auth Service <noreply@example.com>");
        assert_eq!(mail.to, "alice@example.com");
        assert_eq!(mail.reply_to.as_deref(), Some("support@example.com"));
        assert_eq!(mail.header("x-custom").as_deref(), Some("yes"));
        assert_eq!(mail.header("SUBJECT").as_deref(), Some("Vérify your email"));
        assert_eq!(mail.header("X-Missing"), None);

        assert!(mail.text.contains("Hello Alïce,"), "{}", mail.text);
        assert!(mail.text.contains("\n.leading dot line"), "{}", mail.text);
        assert!(mail.html.contains("<p>Hello Alïce,</p>"), "{}", mail.html);

        // From the text part (trailing full stop dropped), percent-decoded.
        assert_eq!(
            mail.link("verify"),
            "https://app.example.com/verify?token=abc%2B123&next=%2Fhome"
        );
        assert_eq!(mail.query_param("verify", "token"), "abc+123");
        assert_eq!(mail.query_param("verify", "next"), "/home");
        // Only in the html part: `&amp;` decoded.
        assert_eq!(
            mail.link("reset"),
            "https://app.example.com/reset?token=xyz&lang=en"
        );
        assert_eq!(mail.query_param("reset", "token"), "xyz");
        assert_eq!(mail.query_param("reset", "lang"), "en");

        // The connection is reused for a second message, with bare LF line endings and a
        // stuffed lone dot in the body.
        client.expect("RSET", "250").await;
        client.expect("NOOP", "250").await;
        client.expect("VRFY bob", "502").await;
        client.expect("RCPT TO:<x@example.com>", "503").await;
        client.expect("MAIL FROM:<>", "250").await;
        client.expect("RCPT TO:<carol@example.com>", "250").await;
        client.expect("DATA", "354").await;
        client
            .send_raw(b"Subject: second\n\nplain body https://x.example/a?b=1 end\n..\n.\n")
            .await;
        assert_eq!(client.reply().await, "250 2.0.0 OK queued");

        let all = sink.wait_for(2, WAIT).await;
        assert_eq!(all.len(), 2);
        let second = &all[1];
        assert!(second.mail_from.is_empty());
        assert_eq!(second.rcpt_to, ["carol@example.com"]);
        assert_eq!(
            second.raw,
            b"Subject: second\r\n\r\nplain body https://x.example/a?b=1 end\r\n.\r\n"
        );
        assert_eq!(second.subject, "second");
        assert!(second.text.contains("plain body"), "{}", second.text);
        assert!(second.html.is_empty());
        assert_eq!(second.query_param("x.example", "b"), "1");

        assert_eq!(sink.messages_to("ALICE@example.com").len(), 1);
        assert_eq!(sink.messages_to("carol@example.com").len(), 1);
        assert!(sink.messages_to("nobody@example.com").is_empty());

        assert_eq!(client.cmd("QUIT").await, "221 Bye");
        assert!(client.at_eof().await);
    }

    #[tokio::test]
    async fn required_credentials_are_enforced() {
        let sink = SmtpSink::start_with_auth("user", "secret").await;
        let mut client = Client::connect(sink.port()).await;
        client.expect("EHLO c", "250-").await;

        assert_eq!(
            client.cmd("MAIL FROM:<a@example.com>").await,
            "530 5.7.0 Authentication required"
        );
        let wrong = b64("\0user\0wrong");
        assert_eq!(
            client.cmd(&format!("AUTH PLAIN {wrong}")).await,
            "535 5.7.8 Authentication failed"
        );
        assert_eq!(
            client.cmd("MAIL FROM:<a@example.com>").await,
            "530 5.7.0 Authentication required"
        );

        // Two-step AUTH PLAIN with the right credentials.
        assert_eq!(client.cmd("auth plain").await, "334 ");
        let right = b64("\0user\0secret");
        assert_eq!(
            client.cmd(&right).await,
            "235 2.7.0 Authentication successful"
        );
        client.expect("MAIL FROM:<a@example.com>", "250").await;
        client.expect("RCPT TO:<b@example.com>", "250").await;
        client.expect("DATA", "354").await;
        client.send_raw(b"Subject: hi\r\n\r\nbody\r\n.\r\n").await;
        assert_eq!(client.reply().await, "250 2.0.0 OK queued");

        let mail = sink.wait_for_rcpt("b@example.com", WAIT).await;
        assert_eq!(mail.auth, Some(("user".to_owned(), "secret".to_owned())));
        assert_eq!(client.cmd("QUIT").await, "221 Bye");
    }

    #[tokio::test]
    async fn auth_login_is_accepted_and_recorded_without_required_credentials() {
        let sink = SmtpSink::start().await;
        let mut client = Client::connect(sink.port()).await;
        assert_eq!(client.cmd("HELO c").await, "250 sink");
        assert_eq!(client.cmd("AUTH LOGIN").await, "334 VXNlcm5hbWU6");
        assert_eq!(client.cmd(&b64("bob")).await, "334 UGFzc3dvcmQ6");
        assert_eq!(
            client.cmd(&b64("pw")).await,
            "235 2.7.0 Authentication successful"
        );
        client.expect("MAIL FROM:<a@example.com>", "250").await;
        client.expect("RCPT TO:<b@example.com>", "250").await;
        client.expect("DATA", "354").await;
        client.send_raw(b"Subject: hi\r\n\r\nbody\r\n.\r\n").await;
        assert_eq!(client.reply().await, "250 2.0.0 OK queued");
        let mail = sink.wait_for_rcpt("b@example.com", WAIT).await;
        assert_eq!(mail.auth, Some(("bob".to_owned(), "pw".to_owned())));
    }

    #[tokio::test]
    async fn concurrent_connections_are_served() {
        let sink = SmtpSink::start().await;
        let mut first = Client::connect(sink.port()).await;
        let mut second = Client::connect(sink.port()).await;
        first.expect("EHLO one", "250-").await;
        second.expect("EHLO two", "250-").await;
        first.expect("MAIL FROM:<one@example.com>", "250").await;
        second.expect("MAIL FROM:<two@example.com>", "250").await;
        second.expect("RCPT TO:<r2@example.com>", "250").await;
        first.expect("RCPT TO:<r1@example.com>", "250").await;
        for client in [&mut first, &mut second] {
            client.expect("DATA", "354").await;
            client.send_raw(b"Subject: s\r\n\r\nb\r\n.\r\n").await;
            assert_eq!(client.reply().await, "250 2.0.0 OK queued");
        }
        let all = sink.wait_for(2, WAIT).await;
        assert_eq!(all[0].mail_from, "one@example.com");
        assert_eq!(all[0].rcpt_to, ["r1@example.com"]);
        assert_eq!(all[1].mail_from, "two@example.com");
        assert_eq!(all[1].rcpt_to, ["r2@example.com"]);
    }

    #[tokio::test]
    #[should_panic(expected = "timed out")]
    async fn wait_for_panics_after_the_timeout() {
        let sink = SmtpSink::start().await;
        sink.wait_for(1, Duration::from_millis(50)).await;
    }

    #[test]
    fn unused_port_is_not_listening() {
        let port = unused_port();
        assert_ne!(port, 0);
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    }
}
