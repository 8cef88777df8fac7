//! The language server's framing over stdio: `Content-Length` headers and JSON bodies, read
//! and written by clanc itself rather than by `lsp-server`'s stdio transport. That transport
//! ends its reader thread at the first malformed frame (the server then exits without a word)
//! and allocates whatever `Content-Length` says before reading (`99999999999999` aborts the
//! process); neither can be changed from outside it. Here a malformed frame is answered with
//! a JSON-RPC error and reading goes on; a frame larger than [`MAX_FRAME`] is refused and its
//! body skipped without being stored. `lsp-server`'s message types are still used.

use std::io::{self, BufRead, Read, Write};

use crossbeam_channel::{Receiver, Sender, select};
use lsp_server::{ErrorCode, Message, Notification, RequestId, Response};
use serde_json::{Value, json};

/// The largest body accepted: 64 MiB, far above any document an editor sends (a whole file's
/// text is one frame).
pub const MAX_FRAME: u64 = 64 * 1024 * 1024;

/// The longest header line kept (longer ones are malformed; their rest is skipped unread).
const MAX_HEADER_LINE: usize = 8 * 1024;

/// What the reader thread passes on.
pub enum Incoming {
    Message(Message),
    /// A frame that is no message: the error to answer it with (a JSON-RPC response, its
    /// `id` the request's if one could be read, else `null`).
    Invalid(Value),
}

/// The channels of a running transport, and its writer thread.
pub struct Transport {
    pub incoming: Receiver<Incoming>,
    pub sender: Sender<Message>,
    /// Responses that are not `lsp_server` messages (an error whose `id` is `null`).
    pub raw: Sender<Value>,
    writer: std::thread::JoinHandle<()>,
}

impl Transport {
    /// Starts the reader and writer threads on stdin and stdout.
    pub fn stdio() -> io::Result<Transport> {
        let (incoming_tx, incoming) = crossbeam_channel::unbounded();
        let (sender, messages) = crossbeam_channel::unbounded::<Message>();
        let (raw, raws) = crossbeam_channel::unbounded::<Value>();
        std::thread::Builder::new()
            .name("clanc-lsp-reader".into())
            .spawn(move || {
                let stdin = io::stdin();
                read_frames(&mut stdin.lock(), &incoming_tx);
            })?;
        let writer = std::thread::Builder::new()
            .name("clanc-lsp-writer".into())
            .spawn(move || {
                let stdout = io::stdout();
                write_frames(&mut stdout.lock(), &messages, &raws);
            })?;
        Ok(Transport {
            incoming,
            sender,
            raw,
            writer,
        })
    }

    /// Waits until everything sent has been written, once every other sender is dropped.
    pub fn finish(self) {
        let Transport {
            incoming,
            sender,
            raw,
            writer,
        } = self;
        drop((incoming, sender, raw));
        let _ = writer.join();
    }
}

fn write_frames(out: &mut impl Write, messages: &Receiver<Message>, raws: &Receiver<Value>) {
    let (mut messages_open, mut raws_open) = (true, true);
    while messages_open || raws_open {
        let written = select! {
            recv(messages) -> message => match message {
                Ok(message) => message.write(out),
                Err(_) => { messages_open = false; Ok(()) }
            },
            recv(raws) -> value => match value {
                Ok(value) => write_body(out, value.to_string().as_bytes()),
                Err(_) => { raws_open = false; Ok(()) }
            },
        };
        if written.is_err() {
            return; // the client is gone
        }
        if !messages_open {
            // `select!` on a closed channel returns at once: wait on the other alone.
            for value in raws.iter() {
                if write_body(out, value.to_string().as_bytes()).is_err() {
                    return;
                }
            }
            return;
        }
        if !raws_open {
            for message in messages.iter() {
                if message.write(out).is_err() {
                    return;
                }
            }
            return;
        }
    }
}

fn write_body(out: &mut impl Write, body: &[u8]) -> io::Result<()> {
    write!(out, "Content-Length: {}\r\n\r\n", body.len())?;
    out.write_all(body)?;
    out.flush()
}

/// Reads frames until the end of input or the `exit` notification, passing each on.
pub fn read_frames(input: &mut impl BufRead, incoming: &Sender<Incoming>) {
    loop {
        let item = match read_frame(input) {
            Ok(Frame::End) | Err(_) => return,
            Ok(Frame::Oversized(length)) => {
                // Refused before its body is read: that body may never come.
                let refusal = Incoming::Invalid(error(
                    Value::Null,
                    ErrorCode::ParseError,
                    &format!(
                        "a body of {length} bytes is larger than the {} MiB clanc accepts; it is skipped",
                        MAX_FRAME / (1024 * 1024)
                    ),
                ));
                if incoming.send(refusal).is_err() {
                    return;
                }
                // Skipped unread (nothing is stored), so that the next frame is found where
                // the client put it.
                match io::copy(&mut input.take(length), &mut io::sink()) {
                    Ok(skipped) if skipped == length => continue,
                    _ => return,
                }
            }
            Ok(Frame::Malformed(why)) => Incoming::Invalid(error(
                Value::Null,
                ErrorCode::ParseError,
                &format!("malformed frame: {why}"),
            )),
            Ok(Frame::Body(body)) => parse_body(&body),
        };
        let is_exit =
            matches!(&item, Incoming::Message(Message::Notification(n)) if n.method == "exit");
        if incoming.send(item).is_err() || is_exit {
            return;
        }
    }
}

enum Frame {
    End,
    /// A frame whose `Content-Length` is past [`MAX_FRAME`]; its body is still to be skipped.
    Oversized(u64),
    Body(Vec<u8>),
    Malformed(String),
}

/// One frame: its headers up to the empty line, then `Content-Length` bytes of body. A frame
/// with headers that cannot be read or no `Content-Length` is malformed; one past
/// [`MAX_FRAME`] is oversized (its body not read yet).
fn read_frame(input: &mut impl BufRead) -> io::Result<Frame> {
    let mut length: Option<Result<u64, String>> = None;
    let mut malformed: Option<String> = None;
    let mut first = true;
    loop {
        let Some(line) = read_header_line(input)? else {
            return Ok(Frame::End);
        };
        let line = match line {
            Ok(line) => line,
            Err(why) => {
                first = false;
                malformed.get_or_insert(why);
                continue;
            }
        };
        if line.is_empty() {
            if first {
                continue; // stray blank lines between frames
            }
            break;
        }
        first = false;
        match line.split_once(':') {
            Some((name, value)) if name.trim().eq_ignore_ascii_case("content-length") => {
                length =
                    Some(value.trim().parse::<u64>().map_err(|_| {
                        format!("`Content-Length: {}` is no length", cut(value.trim()))
                    }));
            }
            Some(_) => {} // Content-Type and other headers
            None => {
                malformed.get_or_insert_with(|| format!("header line `{}`", cut(&line)));
            }
        }
    }
    let length = match length {
        None => {
            return Ok(Frame::Malformed(
                malformed.unwrap_or_else(|| "no `Content-Length` header".to_string()),
            ));
        }
        Some(Err(why)) => return Ok(Frame::Malformed(why)),
        Some(Ok(length)) => length,
    };
    if length > MAX_FRAME {
        return Ok(Frame::Oversized(length));
    }
    // At most MAX_FRAME, so this fits in memory and in usize.
    let mut body = Vec::new();
    input.take(length).read_to_end(&mut body)?;
    if (body.len() as u64) < length {
        return Ok(Frame::End);
    }
    match malformed {
        Some(why) => Ok(Frame::Malformed(why)),
        None => Ok(Frame::Body(body)),
    }
}

/// One header line without its line end (`\r\n`, or a bare `\n`): `None` at the end of input,
/// `Err` for a line that is too long or not UTF-8 (the rest of a long line is skipped).
fn read_header_line(input: &mut impl BufRead) -> io::Result<Option<Result<String, String>>> {
    let mut line = Vec::new();
    let mut too_long = false;
    loop {
        let available = input.fill_buf()?;
        if available.is_empty() {
            // the end of input (a header cut off by it has nothing after it either)
            return Ok(None);
        }
        let (taken, done) = match available.iter().position(|b| *b == b'\n') {
            Some(at) => (at + 1, true),
            None => (available.len(), false),
        };
        let room = MAX_HEADER_LINE.saturating_sub(line.len());
        if taken > room {
            too_long = true;
        }
        line.extend_from_slice(&available[..taken.min(room)]);
        input.consume(taken);
        if done {
            break;
        }
    }
    if too_long {
        return Ok(Some(Err(format!(
            "a header line longer than {MAX_HEADER_LINE} bytes"
        ))));
    }
    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
        line.pop();
    }
    Ok(Some(String::from_utf8(line).map_err(|_| {
        "a header line that is not UTF-8".to_string()
    })))
}

/// A body as a message, or the error that answers it: not JSON is a parse error; JSON that
/// is no request, response or notification is an invalid request (answered with its `id`
/// when it has one).
fn parse_body(body: &[u8]) -> Incoming {
    let value: Value = match serde_json::from_slice(body) {
        Ok(value) => value,
        Err(e) => {
            return Incoming::Invalid(error(
                Value::Null,
                ErrorCode::ParseError,
                &format!("the body is not JSON: {e}"),
            ));
        }
    };
    let id = match value.get("id") {
        Some(id @ (Value::Number(_) | Value::String(_))) => id.clone(),
        _ => Value::Null,
    };
    // `lsp_server`'s untagged `Message` takes nearly any object for a response: the shape
    // is checked here first.
    let method = value.get("method");
    let shaped = match (value.get("id"), method) {
        (Some(Value::Number(_) | Value::String(_)), Some(Value::String(_))) => true,
        (None, Some(Value::String(_))) => true,
        (Some(_), None) => value.get("result").is_some() || value.get("error").is_some(),
        _ => false,
    };
    if !value.is_object() || !shaped {
        return Incoming::Invalid(error(
            id,
            ErrorCode::InvalidRequest,
            "not a JSON-RPC request, response or notification",
        ));
    }
    match serde_json::from_value::<Message>(value) {
        Ok(message) => Incoming::Message(message),
        Err(e) => Incoming::Invalid(error(
            id,
            ErrorCode::InvalidRequest,
            &format!("not a JSON-RPC request, response or notification: {e}"),
        )),
    }
}

fn error(id: Value, code: ErrorCode, message: &str) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": { "code": code as i32, "message": message },
    })
}

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

/// An error response to a request (its id known).
pub fn error_response(id: RequestId, code: ErrorCode, message: String) -> Message {
    Response::new_err(id, code as i32, message).into()
}

/// Whether a notification is `exit`.
pub fn is_exit(notification: &Notification) -> bool {
    notification.method == "exit"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(input: &[u8]) -> Vec<Incoming> {
        let (tx, rx) = crossbeam_channel::unbounded();
        read_frames(&mut io::BufReader::new(input), &tx);
        drop(tx);
        rx.iter().collect()
    }

    fn describe(item: &Incoming) -> String {
        match item {
            Incoming::Message(Message::Request(r)) => format!("request {}", r.method),
            Incoming::Message(Message::Notification(n)) => format!("notification {}", n.method),
            Incoming::Message(Message::Response(_)) => "response".to_string(),
            Incoming::Invalid(e) => format!("error {} id {}", e["error"]["code"], e["id"]),
        }
    }

    fn frame(body: &str) -> String {
        format!("Content-Length: {}\r\n\r\n{body}", body.len())
    }

    #[test]
    fn malformed_frames_are_answered_and_reading_goes_on() {
        let ok = frame(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#);
        let input = [
            "garbage without a colon\r\n\r\n".to_string(),
            frame("{ not json"),
            frame(r#"{"jsonrpc":"2.0","id":7,"method":5}"#),
            "Content-Length: twelve\r\n\r\n".to_string(),
            format!("X: {}\r\n\r\n", "y".repeat(100_000)),
            ok,
        ]
        .concat();
        let seen: Vec<String> = frames(input.as_bytes()).iter().map(describe).collect();
        assert_eq!(
            seen,
            [
                "error -32700 id null",
                "error -32700 id null",
                "error -32600 id 7",
                "error -32700 id null",
                "error -32700 id null",
                "request shutdown",
            ]
        );
    }

    #[test]
    fn oversized_frames_are_refused_and_skipped_without_storing_them() {
        let body = "x".repeat(100);
        let input = format!("Content-Length: 99999999999999\r\n\r\n{body}");
        // refused at once; the declared body never comes: the input ends while it is skipped
        let seen: Vec<String> = frames(input.as_bytes()).iter().map(describe).collect();
        assert_eq!(seen, ["error -32700 id null"]);

        let big = MAX_FRAME + 1;
        let mut input = format!("Content-Length: {big}\r\n\r\n").into_bytes();
        input.resize(input.len() + big as usize, b' ');
        input.extend_from_slice(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#).as_bytes());
        let seen: Vec<String> = frames(&input).iter().map(describe).collect();
        assert_eq!(seen, ["error -32700 id null", "notification exit"]);
    }

    #[test]
    fn reading_stops_after_exit() {
        let input = [
            frame(r#"{"jsonrpc":"2.0","method":"exit"}"#),
            frame(r#"{"jsonrpc":"2.0","id":1,"method":"shutdown"}"#),
        ]
        .concat();
        let seen: Vec<String> = frames(input.as_bytes()).iter().map(describe).collect();
        assert_eq!(seen, ["notification exit"]);
    }
}
