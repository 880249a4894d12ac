//! A minimal, blocking, binary-safe RESP2 client over [`std::net::TcpStream`].
//!
//! Just enough protocol to drive a test server: commands go out as arrays of
//! bulk strings, replies come back as [`Reply`] trees (simple string, error,
//! integer, bulk, nil, arrays nested to any depth). Several commands can be
//! pipelined with [`Conn::pipeline`].

use std::fmt;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A simple string (`+OK`).
    Status(String),
    /// An error reply (`-ERR ...`), without the leading `-`.
    Error(String),
    /// An integer (`:42`).
    Integer(i64),
    /// A bulk string (`$3\r\nabc`), binary-safe.
    Bulk(Vec<u8>),
    /// A nil bulk string or nil array (`$-1`, `*-1`).
    Nil,
    /// An array of replies (`*2 ...`), possibly nested.
    Array(Vec<Reply>),
}

impl Reply {
    /// The bytes of a bulk string or simple string.
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Reply::Bulk(b) => Some(b),
            Reply::Status(s) => Some(s.as_bytes()),
            _ => None,
        }
    }

    /// An integer reply, or a bulk / simple string holding a decimal integer.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Reply::Integer(i) => Some(*i),
            Reply::Bulk(_) | Reply::Status(_) => std::str::from_utf8(self.as_bytes()?)
                .ok()?
                .trim()
                .parse()
                .ok(),
            _ => None,
        }
    }

    /// The text of a bulk / simple string (lossy UTF-8), or an integer as text.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Reply::Integer(i) => Some(i.to_string()),
            _ => self
                .as_bytes()
                .map(|b| String::from_utf8_lossy(b).into_owned()),
        }
    }

    /// The elements of an array reply.
    pub fn as_array(&self) -> Option<&[Reply]> {
        match self {
            Reply::Array(a) => Some(a),
            _ => None,
        }
    }

    /// True for a nil reply.
    pub fn is_nil(&self) -> bool {
        matches!(self, Reply::Nil)
    }

    /// `Err(RespError::Server)` for an error reply, else the reply itself.
    pub fn into_result(self) -> Result<Reply, RespError> {
        match self {
            Reply::Error(e) => Err(RespError::Server(e)),
            other => Ok(other),
        }
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Status(s) => write!(f, "+{s}"),
            Reply::Error(e) => write!(f, "-{e}"),
            Reply::Integer(i) => write!(f, "{i}"),
            Reply::Bulk(b) => write!(f, "{:?}", String::from_utf8_lossy(b)),
            Reply::Nil => f.write_str("(nil)"),
            Reply::Array(a) => {
                f.write_str("[")?;
                for (i, r) in a.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{r}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// Why a request failed.
#[derive(Debug)]
pub enum RespError {
    /// The connection failed (connect, read, write, timeout, EOF).
    Io(io::Error),
    /// The peer sent bytes that are not valid RESP2.
    Protocol(String),
    /// The server answered with an error reply (text without the leading `-`).
    Server(String),
    /// The reply had a shape the caller did not expect.
    Unexpected(String),
}

impl fmt::Display for RespError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RespError::Io(e) => write!(f, "connection error: {e}"),
            RespError::Protocol(m) => write!(f, "RESP protocol error: {m}"),
            RespError::Server(m) => write!(f, "server error: {m}"),
            RespError::Unexpected(m) => write!(f, "unexpected reply: {m}"),
        }
    }
}

impl std::error::Error for RespError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RespError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for RespError {
    fn from(e: io::Error) -> Self {
        RespError::Io(e)
    }
}

/// Something that can be one argument of a command (sent as a bulk string).
pub trait ToArg {
    /// The argument's bytes.
    fn to_arg(&self) -> Vec<u8>;
}

impl<T: ToArg + ?Sized> ToArg for &T {
    fn to_arg(&self) -> Vec<u8> {
        (**self).to_arg()
    }
}

impl ToArg for str {
    fn to_arg(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl ToArg for String {
    fn to_arg(&self) -> Vec<u8> {
        self.as_bytes().to_vec()
    }
}

impl ToArg for [u8] {
    fn to_arg(&self) -> Vec<u8> {
        self.to_vec()
    }
}

impl<const N: usize> ToArg for [u8; N] {
    fn to_arg(&self) -> Vec<u8> {
        self.to_vec()
    }
}

impl ToArg for Vec<u8> {
    fn to_arg(&self) -> Vec<u8> {
        self.clone()
    }
}

macro_rules! int_to_arg {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(&self) -> Vec<u8> {
                self.to_string().into_bytes()
            }
        }
    )*};
}
int_to_arg!(i32, i64, u16, u32, u64, usize);

/// A command under construction: `Cmd::new("XPENDING").arg(key).arg("-")`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cmd {
    args: Vec<Vec<u8>>,
}

impl Cmd {
    /// A command with its name as the first argument.
    pub fn new(name: &str) -> Cmd {
        Cmd {
            args: vec![name.as_bytes().to_vec()],
        }
    }

    /// Append one argument.
    pub fn arg(mut self, a: impl ToArg) -> Cmd {
        self.args.push(a.to_arg());
        self
    }

    /// Append several arguments.
    pub fn args<A: ToArg>(mut self, args: impl IntoIterator<Item = A>) -> Cmd {
        self.args.extend(args.into_iter().map(|a| a.to_arg()));
        self
    }

    /// The arguments, command name first.
    pub fn as_args(&self) -> &[Vec<u8>] {
        &self.args
    }

    fn encode_into(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(format!("*{}\r\n", self.args.len()).as_bytes());
        for a in &self.args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// A blocking RESP2 connection.
#[derive(Debug)]
pub struct Conn {
    reader: BufReader<TcpStream>,
    writer: BufWriter<TcpStream>,
    peer: SocketAddr,
}

/// Read timeout applied to every connection (a dump of a big key can be slow).
const IO_TIMEOUT: Duration = Duration::from_secs(120);

impl Conn {
    /// Connect to `127.0.0.1:<port>`.
    pub fn connect_port(port: u16) -> Result<Conn, RespError> {
        Conn::connect(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// Connect to `addr` (10 s connect timeout, 120 s read/write timeout).
    pub fn connect(addr: SocketAddr) -> Result<Conn, RespError> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
        stream.set_read_timeout(Some(IO_TIMEOUT))?;
        stream.set_write_timeout(Some(IO_TIMEOUT))?;
        stream.set_nodelay(true)?;
        let reader = BufReader::with_capacity(64 * 1024, stream.try_clone()?);
        let writer = BufWriter::with_capacity(64 * 1024, stream);
        Ok(Conn {
            reader,
            writer,
            peer: addr,
        })
    }

    /// The server's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Change the read timeout (e.g. a short one while polling a starting server).
    pub fn set_read_timeout(&mut self, t: Option<Duration>) -> Result<(), RespError> {
        self.reader.get_ref().set_read_timeout(t)?;
        Ok(())
    }

    /// Send one command and read its reply; an error reply is `Ok(Reply::Error)`.
    pub fn query_raw(&mut self, cmd: &Cmd) -> Result<Reply, RespError> {
        let mut buf = Vec::new();
        cmd.encode_into(&mut buf);
        self.writer.write_all(&buf)?;
        self.writer.flush()?;
        self.read_reply()
    }

    /// Send one command and read its reply; an error reply is `Err(RespError::Server)`.
    pub fn query(&mut self, cmd: &Cmd) -> Result<Reply, RespError> {
        self.query_raw(cmd)?.into_result()
    }

    /// Shorthand for a command whose arguments all have one type:
    /// `conn.cmd(&["SET", "k", "v"])`. An error reply is `Err(RespError::Server)`.
    pub fn cmd<A: ToArg>(&mut self, args: &[A]) -> Result<Reply, RespError> {
        let mut it = args.iter();
        let Some(first) = it.next() else {
            return Err(RespError::Unexpected("empty command".into()));
        };
        let cmd = Cmd {
            args: std::iter::once(first.to_arg())
                .chain(it.map(|a| a.to_arg()))
                .collect(),
        };
        self.query(&cmd)
    }

    /// Send all commands at once, then read one reply per command (error
    /// replies stay `Reply::Error` so that the caller sees which one failed).
    pub fn pipeline(&mut self, cmds: &[Cmd]) -> Result<Vec<Reply>, RespError> {
        let mut buf = Vec::new();
        for c in cmds {
            c.encode_into(&mut buf);
        }
        self.writer.write_all(&buf)?;
        self.writer.flush()?;
        cmds.iter().map(|_| self.read_reply()).collect()
    }

    /// Read one reply from the connection.
    pub fn read_reply(&mut self) -> Result<Reply, RespError> {
        read_reply(&mut self.reader)
    }
}

/// Parse one RESP2 reply from `r`.
pub fn read_reply<R: BufRead>(r: &mut R) -> Result<Reply, RespError> {
    let line = read_line(r)?;
    let (kind, rest) = match line.split_first() {
        Some((k, rest)) => (*k, rest),
        None => return Err(RespError::Protocol("empty reply line".into())),
    };
    match kind {
        b'+' => Ok(Reply::Status(String::from_utf8_lossy(rest).into_owned())),
        b'-' => Ok(Reply::Error(String::from_utf8_lossy(rest).into_owned())),
        b':' => Ok(Reply::Integer(parse_int(rest)?)),
        b'$' => {
            let len = parse_int(rest)?;
            if len < 0 {
                return Ok(Reply::Nil);
            }
            let len = usize::try_from(len)
                .map_err(|_| RespError::Protocol(format!("bulk length {len} too large")))?;
            let mut data = vec![0u8; len + 2];
            r.read_exact(&mut data)?;
            if &data[len..] != b"\r\n" {
                return Err(RespError::Protocol(
                    "bulk string not followed by CRLF".into(),
                ));
            }
            data.truncate(len);
            Ok(Reply::Bulk(data))
        }
        b'*' => {
            let n = parse_int(rest)?;
            if n < 0 {
                return Ok(Reply::Nil);
            }
            let n = usize::try_from(n)
                .map_err(|_| RespError::Protocol(format!("array length {n} too large")))?;
            let mut items = Vec::with_capacity(n.min(1 << 16));
            for _ in 0..n {
                items.push(read_reply(r)?);
            }
            Ok(Reply::Array(items))
        }
        other => Err(RespError::Protocol(format!(
            "unknown reply type byte {:?} in line {:?}",
            other as char,
            String::from_utf8_lossy(&line)
        ))),
    }
}

fn read_line<R: BufRead>(r: &mut R) -> Result<Vec<u8>, RespError> {
    let mut line = Vec::new();
    let n = r.read_until(b'\n', &mut line)?;
    if n == 0 {
        return Err(RespError::Io(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "connection closed by server",
        )));
    }
    if !line.ends_with(b"\r\n") {
        return Err(RespError::Protocol(format!(
            "reply line not terminated by CRLF: {:?}",
            String::from_utf8_lossy(&line)
        )));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn parse_int(b: &[u8]) -> Result<i64, RespError> {
    std::str::from_utf8(b)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| RespError::Protocol(format!("bad integer {:?}", String::from_utf8_lossy(b))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Reply {
        read_reply(&mut &bytes[..]).unwrap()
    }

    #[test]
    fn parses_every_reply_kind() {
        assert_eq!(parse(b"+OK\r\n"), Reply::Status("OK".into()));
        assert_eq!(parse(b"-ERR bad\r\n"), Reply::Error("ERR bad".into()));
        assert_eq!(parse(b":-12\r\n"), Reply::Integer(-12));
        assert_eq!(parse(b"$-1\r\n"), Reply::Nil);
        assert_eq!(parse(b"*-1\r\n"), Reply::Nil);
        assert_eq!(parse(b"$0\r\n\r\n"), Reply::Bulk(vec![]));
        assert_eq!(
            parse(b"$4\r\na\r\n\x00\r\n"),
            Reply::Bulk(b"a\r\n\x00".to_vec())
        );
        assert_eq!(
            parse(b"*3\r\n:1\r\n*2\r\n$1\r\nx\r\n$-1\r\n*0\r\n"),
            Reply::Array(vec![
                Reply::Integer(1),
                Reply::Array(vec![Reply::Bulk(b"x".to_vec()), Reply::Nil]),
                Reply::Array(vec![]),
            ])
        );
    }

    #[test]
    fn rejects_garbage() {
        assert!(read_reply(&mut &b"?x\r\n"[..]).is_err());
        assert!(read_reply(&mut &b"$3\r\nabcd\r\n"[..]).is_err());
        assert!(read_reply(&mut &b":1\n"[..]).is_err());
        assert!(read_reply(&mut &b"$5\r\nab"[..]).is_err());
    }

    #[test]
    fn encodes_commands() {
        let mut out = Vec::new();
        Cmd::new("SET")
            .arg(b"k\x00")
            .arg(12u64)
            .encode_into(&mut out);
        assert_eq!(out, b"*3\r\n$3\r\nSET\r\n$2\r\nk\x00\r\n$2\r\n12\r\n");
    }
}
