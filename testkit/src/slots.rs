//! Redis Cluster readiness, checked on the real commands the store sends.
//!
//! [`SlotWatch`] follows the test Redis with `MONITOR` while a test suite runs, then checks
//! every step a Cluster must run on one node: a command with several keys, a Lua script (its
//! declared keys and every key its body touches) and a `MULTI`/`EXEC` block. All their keys
//! must hash to one slot (CRC16 of the key, or of its `{hash tag}`, modulo 16384, as the Redis
//! Cluster specification defines it), or a Cluster would refuse them with `CROSSSLOT`.
//!
//! A key is recognised by the test prefix ([`crate::unique_keys`]: `t` and 16 hex digits,
//! then `:`), so values and arguments are never mistaken for keys, and a key name passed to a
//! script as an argument (a Cluster hazard) is caught too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The slot of `key`: CRC16 (XMODEM) of its hash tag when it has a non-empty one, else of
/// the whole key, modulo 16384.
pub fn slot(key: &[u8]) -> u16 {
    let hashed = match key.iter().position(|b| *b == b'{') {
        Some(open) => match key[open + 1..].iter().position(|b| *b == b'}') {
            Some(len) if len > 0 => &key[open + 1..open + 1 + len],
            _ => key,
        },
        None => key,
    };
    crc16(hashed) % 16384
}

fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0;
    for byte in bytes {
        crc ^= u16::from(*byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

/// `MONITOR` on the test Redis, recording every command until [`SlotWatch::check`].
pub struct SlotWatch {
    lines: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SlotWatch {
    pub async fn start() -> SlotWatch {
        let url = crate::redis_url();
        let rest = url.trim_start_matches("redis://");
        let host = rest.split('/').next().unwrap_or(rest);
        let host = host.rsplit('@').next().unwrap_or(host);
        let mut stream = TcpStream::connect(host).await.expect("connect to the test Redis");
        stream.write_all(b"MONITOR\r\n").await.expect("start MONITOR");
        let mut reader = BufReader::new(stream);
        let mut ok = String::new();
        reader.read_line(&mut ok).await.expect("MONITOR answers");
        assert_eq!(ok.trim_end(), "+OK", "MONITOR refused");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let task = tokio::spawn(async move {
            let mut line = String::new();
            while reader.read_line(&mut line).await.is_ok_and(|n| n > 0) {
                sink.lock().expect("monitor lines").push(line.trim_end().to_owned());
                line.clear();
            }
        });
        SlotWatch { lines, task }
    }

    /// Stops watching and panics naming every step whose keys span several slots. Also
    /// fails when no script and no transaction was seen (the watch saw nothing useful).
    pub async fn check(self) {
        // Let the last replies' MONITOR lines arrive.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        self.task.abort();
        let lines = std::mem::take(&mut *self.lines.lock().expect("monitor lines"));
        let report = Steps::read(&lines);
        assert!(report.scripts + report.transactions > 0, "nothing atomic was seen: {report:?}");
        assert!(report.violations.is_empty(), "steps across cluster slots:\n{}", report.violations.join("\n"));
    }
}

/// What the watched commands did, as far as the Cluster is concerned.
#[derive(Debug, Default)]
struct Steps {
    scripts: usize,
    transactions: usize,
    violations: Vec<String>,
}

impl Steps {
    fn read(lines: &[String]) -> Steps {
        let mut steps = Steps::default();
        let mut script: Option<(String, Vec<Vec<u8>>)> = None;
        let mut multi: HashMap<String, Vec<Vec<u8>>> = HashMap::new();
        for line in lines {
            let Some((client, args)) = parse_line(line) else { continue };
            let Some(command) = args.first().map(|c| String::from_utf8_lossy(c).to_ascii_uppercase()) else {
                continue;
            };
            let keys: Vec<Vec<u8>> = args.iter().skip(1).filter(|a| is_test_key(a)).cloned().collect();
            if client == "lua" {
                if let Some((_, touched)) = script.as_mut() {
                    touched.extend(keys);
                }
                continue;
            }
            if let Some((name, touched)) = script.take() {
                steps.judge(&name, &touched);
            }
            match command.as_str() {
                "EVAL" | "EVALSHA" | "EVAL_RO" | "EVALSHA_RO" | "FCALL" => {
                    steps.scripts += 1;
                    script = Some((format!("script {}", String::from_utf8_lossy(&args[1])), keys));
                }
                "MULTI" => {
                    multi.insert(client, Vec::new());
                }
                "EXEC" | "DISCARD" => {
                    if let Some(touched) = multi.remove(&client) {
                        steps.transactions += 1;
                        steps.judge("MULTI/EXEC", &touched);
                    }
                }
                _ => match multi.get_mut(&client) {
                    Some(touched) => touched.extend(keys),
                    None => steps.judge(&command, &keys),
                },
            }
        }
        if let Some((name, touched)) = script.take() {
            steps.judge(&name, &touched);
        }
        steps
    }

    fn judge(&mut self, what: &str, keys: &[Vec<u8>]) {
        let Some(first) = keys.first() else { return };
        let expected = slot(first);
        if let Some(other) = keys.iter().find(|k| slot(k) != expected) {
            self.violations.push(format!(
                "{what}: {} (slot {expected}) and {} (slot {})",
                String::from_utf8_lossy(first),
                String::from_utf8_lossy(other),
                slot(other)
            ));
        }
    }
}

/// `t` and 16 lower-case hex digits, then `:`: a key of a test's [`crate::unique_keys`].
fn is_test_key(arg: &[u8]) -> bool {
    arg.len() > 18 && arg[0] == b't' && arg[1..17].iter().all(|b| b.is_ascii_hexdigit()) && arg[17] == b':'
}

/// `1795590086.350500 [0 127.0.0.1:51392] "EVALSHA" "…" …` → the client and the arguments.
fn parse_line(line: &str) -> Option<(String, Vec<Vec<u8>>)> {
    let open = line.find('[')?;
    let close = open + line[open..].find(']')?;
    let client = line[open + 1..close].split_once(' ')?.1.to_owned();
    let mut args = Vec::new();
    let bytes = &line.as_bytes()[close + 1..];
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'"' {
            i += 1;
            continue;
        }
        i += 1;
        let mut arg = Vec::new();
        while i < bytes.len() && bytes[i] != b'"' {
            if bytes[i] == b'\\' && i + 1 < bytes.len() {
                i += 1;
                match bytes[i] {
                    b'x' if i + 2 < bytes.len() => {
                        let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok()?;
                        arg.push(u8::from_str_radix(hex, 16).ok()?);
                        i += 2;
                    }
                    b'n' => arg.push(b'\n'),
                    b'r' => arg.push(b'\r'),
                    b't' => arg.push(b'\t'),
                    b'a' => arg.push(7),
                    b'b' => arg.push(8),
                    other => arg.push(other),
                }
            } else {
                arg.push(bytes[i]);
            }
            i += 1;
        }
        args.push(arg);
        i += 1;
    }
    Some((client, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_cluster_specification() {
        // The specification's own check value, and keys from its examples.
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(slot(b"{user1000}.following"), slot(b"{user1000}.followers"));
        assert_eq!(slot(b"foo{}{bar}"), slot(b"foo{}{bar}"));
        assert_ne!(slot(b"foo{}{bar}"), slot(b"bar"), "an empty tag hashes the whole key");
        assert_eq!(slot(b"foo{{bar}}zap"), slot(b"{bar"));
        assert_eq!(slot(b"foo{bar}{zap}"), slot(b"bar"));
    }

    #[test]
    fn scripts_and_transactions_are_judged_by_every_key_they_touch() {
        let lines = [
            r#"1.0 [0 127.0.0.1:1] "EVALSHA" "abc" "1" "t0123456789abcdef:{t0123456789abcdef:q:outbox}:stream""#,
            r#"1.1 [0 lua] "SET" "t0123456789abcdef:dedupe:x" "1""#,
            r#"1.2 [0 127.0.0.1:2] "MULTI""#,
            r#"1.3 [0 127.0.0.1:2] "SET" "t0123456789abcdef:{t0123456789abcdef:snap}:current" "3""#,
            r#"1.4 [0 127.0.0.1:2] "HSET" "t0123456789abcdef:{t0123456789abcdef:snap}:v:3" "meta" "\x00\"""#,
            r#"1.5 [0 127.0.0.1:2] "EXEC""#,
        ]
        .map(String::from);
        let steps = Steps::read(&lines);
        assert_eq!((steps.scripts, steps.transactions), (1, 1));
        assert_eq!(steps.violations.len(), 1, "{:?}", steps.violations);
        assert!(steps.violations[0].contains("dedupe:x"), "{:?}", steps.violations);
    }
}
