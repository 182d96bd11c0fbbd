//! The few Redis commands the flush sends (AUTH, SCAN, UNLINK), in RESP2 over any byte
//! stream: a command is an array of bulk strings, a reply one of RESP's five types. A client
//! crate would bring connection pools, cluster routing and a second TLS stack for four
//! commands; this keeps the function's binary small.

use std::future::Future;
use std::pin::Pin;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

/// The longest bulk string or array accepted from the server: a SCAN page of keys is far
/// below it, and a broken stream cannot make the client allocate without bound.
const MAX_BULK_BYTES: usize = 64 * 1024 * 1024;
const MAX_ARRAY_ITEMS: usize = 1_000_000;

/// One reply, as RESP2 types it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    /// An error reply (`-ERR …`, `-WRONGPASS …`): the server refused the command.
    Error(String),
    Integer(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

/// A connection that sends one command and reads its reply at a time.
pub struct Connection<S> {
    stream: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Connection<S> {
    pub fn new(stream: S) -> Self {
        Self {
            stream: BufReader::new(stream),
        }
    }

    /// Sends `args` as one command and reads its reply; an error reply is a reply, not an
    /// `Err` (the caller knows what it means).
    pub async fn command(&mut self, args: &[&[u8]]) -> std::io::Result<Reply> {
        let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for arg in args {
            out.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            out.extend_from_slice(arg);
            out.extend_from_slice(b"\r\n");
        }
        let stream = self.stream.get_mut();
        stream.write_all(&out).await?;
        stream.flush().await?;
        read_reply(&mut self.stream).await
    }
}

fn protocol(message: impl Into<String>) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, message.into())
}

/// One line up to CRLF, without it.
async fn read_line<R: AsyncBufReadExt + Unpin>(reader: &mut R) -> std::io::Result<Vec<u8>> {
    let mut line = Vec::new();
    // A line is a type byte and a number or a short status: 64 KiB is generous.
    let read = (&mut *reader)
        .take(64 * 1024)
        .read_until(b'\n', &mut line)
        .await?;
    if read == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the server closed the connection",
        ));
    }
    if !line.ends_with(b"\r\n") {
        return Err(protocol("a reply line does not end with CRLF"));
    }
    line.truncate(line.len() - 2);
    Ok(line)
}

fn number(text: &[u8]) -> std::io::Result<i64> {
    std::str::from_utf8(text)
        .ok()
        .and_then(|t| t.parse().ok())
        .ok_or_else(|| {
            protocol(format!(
                "{:?} is not a number",
                String::from_utf8_lossy(text)
            ))
        })
}

/// Reads one reply; arrays nest, so the future is boxed.
fn read_reply<'a, R: AsyncBufReadExt + Unpin + Send>(
    reader: &'a mut R,
) -> Pin<Box<dyn Future<Output = std::io::Result<Reply>> + Send + 'a>> {
    Box::pin(async move {
        let line = read_line(reader).await?;
        let (kind, rest) = line
            .split_first()
            .ok_or_else(|| protocol("an empty reply line"))?;
        let text = || String::from_utf8_lossy(rest).into_owned();
        match kind {
            b'+' => Ok(Reply::Simple(text())),
            b'-' => Ok(Reply::Error(text())),
            b':' => Ok(Reply::Integer(number(rest)?)),
            b'$' => {
                let len = number(rest)?;
                if len < 0 {
                    return Ok(Reply::Bulk(None));
                }
                let len = usize::try_from(len)
                    .ok()
                    .filter(|l| *l <= MAX_BULK_BYTES)
                    .ok_or_else(|| protocol(format!("a bulk string of {len} bytes")))?;
                let mut data = vec![0; len + 2];
                reader.read_exact(&mut data).await?;
                if !data.ends_with(b"\r\n") {
                    return Err(protocol("a bulk string does not end with CRLF"));
                }
                data.truncate(len);
                Ok(Reply::Bulk(Some(data)))
            }
            b'*' => {
                let len = number(rest)?;
                if len < 0 {
                    return Ok(Reply::Array(None));
                }
                let len = usize::try_from(len)
                    .ok()
                    .filter(|l| *l <= MAX_ARRAY_ITEMS)
                    .ok_or_else(|| protocol(format!("an array of {len} items")))?;
                let mut items = Vec::with_capacity(len.min(4096));
                for _ in 0..len {
                    items.push(read_reply(reader).await?);
                }
                Ok(Reply::Array(Some(items)))
            }
            other => Err(protocol(format!(
                "a reply of unknown type {:?}",
                char::from(*other)
            ))),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The server's side of a connection: what it is sent, what it answers.
    async fn exchange(answer: &[u8], args: &[&[u8]]) -> (std::io::Result<Reply>, Vec<u8>) {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        server.write_all(answer).await.unwrap();
        // The server says nothing more: a reply cut short ends the client's read.
        server.shutdown().await.unwrap();
        let mut connection = Connection::new(client);
        let reply = connection.command(args).await;
        drop(connection);
        let mut sent = Vec::new();
        server.read_to_end(&mut sent).await.unwrap();
        (reply, sent)
    }

    #[tokio::test]
    async fn a_command_is_an_array_of_bulk_strings() {
        let (reply, sent) = exchange(b"+OK\r\n", &[b"AUTH", b"s3cret \r\n"]).await;
        assert_eq!(reply.unwrap(), Reply::Simple("OK".into()));
        assert_eq!(sent, b"*2\r\n$4\r\nAUTH\r\n$9\r\ns3cret \r\n\r\n");
    }

    #[tokio::test]
    async fn a_scan_reply_nests_a_cursor_and_an_array_of_keys() {
        let (reply, _) = exchange(
            b"*2\r\n$3\r\n128\r\n*3\r\n$5\r\nt-1:a\r\n$0\r\n\r\n$-1\r\n",
            &[b"SCAN", b"0"],
        )
        .await;
        assert_eq!(
            reply.unwrap(),
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"128".to_vec())),
                Reply::Array(Some(vec![
                    Reply::Bulk(Some(b"t-1:a".to_vec())),
                    Reply::Bulk(Some(vec![])),
                    Reply::Bulk(None),
                ])),
            ]))
        );
    }

    #[tokio::test]
    async fn integers_and_error_replies_are_replies() {
        assert_eq!(
            exchange(b":42\r\n", &[b"UNLINK", b"k"]).await.0.unwrap(),
            Reply::Integer(42)
        );
        assert_eq!(
            exchange(b"-WRONGPASS invalid password\r\n", &[b"AUTH", b"x"])
                .await
                .0
                .unwrap(),
            Reply::Error("WRONGPASS invalid password".into())
        );
    }

    #[tokio::test]
    async fn a_broken_or_closed_stream_is_an_error_not_a_reply() {
        for answer in [
            &b""[..],
            b"+OK\n",
            b"?what\r\n",
            b":4x\r\n",
            b"$5\r\nab\r\n",
            b"$999999999999\r\n",
            b"*2\r\n:1\r\n",
        ] {
            let (reply, _) = exchange(answer, &[b"PING"]).await;
            assert!(
                reply.is_err(),
                "{:?}: {reply:?}",
                String::from_utf8_lossy(answer)
            );
        }
    }
}
