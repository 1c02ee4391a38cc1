//! The lines of the embedded store's queues ([`Line`](crate::Line)): which entry of a line
//! holds its turn, and the entries parked until theirs comes.
//!
//! An entry of a line carries its [`Place`]: the line, its lease, and its token, the sequence
//! number it was first added under, which it keeps when it comes back from a retry or a
//! parking. A line's turn is one row naming the token that holds it and until when. All of it
//! is written by claims, acknowledgements and retries (the outbox worker's side); adding an
//! entry writes only its place, under its own increasing sequence number.

use redb::{ReadableTable, TableDefinition, WriteTransaction};

use super::append_entries;
use crate::{EntryId, QueueName, Result, StoreError};

/// (queue, seq) → [`Place`], for the entries of a line in `queue_entries`.
pub(in crate::embedded) const Q_LINED: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("queue_lined");
/// (queue, due ms, seq) → [`Place`], for the entries of a line in `queue_delayed`.
pub(in crate::embedded) const Q_DELAYED_LINED: TableDefinition<(&str, u64, u64), &[u8]> =
    TableDefinition::new("queue_delayed_lined");
/// (queue, line, token) → 8 bytes of big-endian lease (ms) and the payload: entries waiting
/// for their line's turn, oldest token first.
pub(in crate::embedded) const Q_PARKED: TableDefinition<(&str, &str, u64), &[u8]> =
    TableDefinition::new("queue_parked");
/// (queue, line) → 8 bytes of big-endian token and 8 of the turn's end (Unix ms).
const Q_TURNS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("queue_turns");

/// Creates the tables of the lines.
pub(in crate::embedded) fn create_tables(tx: &WriteTransaction) -> Result<()> {
    tx.open_table(Q_LINED)?;
    tx.open_table(Q_DELAYED_LINED)?;
    tx.open_table(Q_PARKED)?;
    tx.open_table(Q_TURNS)?;
    Ok(())
}

/// Where an entry stands in its line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(in crate::embedded) struct Place {
    pub line: String,
    pub lease_ms: u64,
    pub token: u64,
}

impl Place {
    pub(in crate::embedded) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(16 + self.line.len());
        out.extend_from_slice(&self.token.to_be_bytes());
        out.extend_from_slice(&self.lease_ms.to_be_bytes());
        out.extend_from_slice(self.line.as_bytes());
        out
    }

    pub(in crate::embedded) fn decode(bytes: &[u8]) -> Result<Place> {
        let corrupt = || StoreError::corrupt("a queue entry's line", "too short or not UTF-8");
        let number = |at: usize| -> Result<u64> {
            Ok(u64::from_be_bytes(bytes.get(at..at + 8).ok_or_else(corrupt)?.try_into().map_err(|_| corrupt())?))
        };
        let line = std::str::from_utf8(bytes.get(16..).ok_or_else(corrupt)?).map_err(|_| corrupt())?;
        Ok(Place { token: number(0)?, lease_ms: number(8)?, line: line.to_owned() })
    }
}

fn two_numbers(a: u64, b: u64) -> [u8; 16] {
    let mut out = [0; 16];
    out[..8].copy_from_slice(&a.to_be_bytes());
    out[8..].copy_from_slice(&b.to_be_bytes());
    out
}

/// (token, end ms) of a line's turn, if someone holds it.
fn turn_of(tx: &WriteTransaction, queue: &str, line: &str) -> Result<Option<(u64, u64)>> {
    let turns = tx.open_table(Q_TURNS)?;
    let Some(stored) = turns.get((queue, line))? else { return Ok(None) };
    let bytes = stored.value();
    let number = |at: usize| bytes.get(at..at + 8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes);
    Ok(number(0).zip(number(8)))
}

fn set_turn(tx: &WriteTransaction, queue: &str, line: &str, token: u64, until_ms: u64) -> Result<()> {
    tx.open_table(Q_TURNS)?.insert((queue, line), two_numbers(token, until_ms).as_slice())?;
    Ok(())
}

/// Whether the entry `seq` (at `place`) may be handed out now: it takes its line's turn when
/// the turn is free, ran out or is its own. Otherwise it is parked: taken out of the queue
/// (and of the pending entries) until the turn comes to it.
pub(in crate::embedded) fn admit(
    tx: &WriteTransaction,
    queue: QueueName,
    seq: u64,
    place: &Place,
    payload: &[u8],
    now: u64,
) -> Result<bool> {
    let queue = queue.as_str();
    match turn_of(tx, queue, &place.line)? {
        Some((token, until)) if token != place.token && until > now => {
            let mut parked = place.lease_ms.to_be_bytes().to_vec();
            parked.extend_from_slice(payload);
            tx.open_table(Q_PARKED)?.insert((queue, place.line.as_str(), place.token), parked.as_slice())?;
            tx.open_table(super::Q_ENTRIES)?.remove((queue, seq))?;
            tx.open_table(super::Q_PENDING)?.remove((queue, seq))?;
            tx.open_table(Q_LINED)?.remove((queue, seq))?;
            Ok(false)
        }
        _ => {
            set_turn(tx, queue, &place.line, place.token, now + place.lease_ms)?;
            Ok(true)
        }
    }
}

/// The entry at `place` is done: unless another entry took the line's turn meanwhile (its own
/// ran out), the turn goes to the oldest parked entry, which is added to the queue again, or
/// the line is left free. Answers the entry added, if any.
pub(in crate::embedded) fn pass_turn(
    tx: &WriteTransaction,
    queue_name: QueueName,
    place: &Place,
    now: u64,
) -> Result<Option<EntryId>> {
    let queue = queue_name.as_str();
    if let Some((token, until)) = turn_of(tx, queue, &place.line)?
        && token != place.token
        && until > now
    {
        return Ok(None);
    }
    let next = {
        let parked = tx.open_table(Q_PARKED)?;
        let mut range = parked.range((queue, place.line.as_str(), 0)..=(queue, place.line.as_str(), u64::MAX))?;
        match range.next() {
            Some(row) => {
                let (key, value) = row?;
                Some((key.value().2, value.value().to_vec()))
            }
            None => None,
        }
    };
    let Some((token, stored)) = next else {
        tx.open_table(Q_TURNS)?.remove((queue, place.line.as_str()))?;
        return Ok(None);
    };
    tx.open_table(Q_PARKED)?.remove((queue, place.line.as_str(), token))?;
    let lease_ms = stored
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_be_bytes)
        .ok_or_else(|| StoreError::corrupt("a parked queue entry", "too short"))?;
    let id = append_entries(tx, queue_name, std::iter::once(&stored[8..]))?.pop().expect("one entry was added");
    let seq: u64 = id.0.parse().expect("embedded entry ids are numbers");
    let next = Place { line: place.line.clone(), lease_ms, token };
    tx.open_table(Q_LINED)?.insert((queue, seq), next.encode().as_slice())?;
    set_turn(tx, queue, &place.line, token, now + lease_ms)?;
    Ok(Some(id))
}

/// A retried entry keeps its line's turn until it is due again and its lease after that,
/// unless another entry took the turn meanwhile.
pub(in crate::embedded) fn hold_turn(
    tx: &WriteTransaction,
    queue: QueueName,
    place: &Place,
    due_ms: u64,
    now: u64,
) -> Result<()> {
    let queue = queue.as_str();
    match turn_of(tx, queue, &place.line)? {
        Some((token, until)) if token != place.token && until > now => Ok(()),
        _ => set_turn(tx, queue, &place.line, place.token, due_ms.max(now) + place.lease_ms),
    }
}

/// How many entries of `queue` wait for their line's turn.
pub(in crate::embedded) fn parked(rx: &redb::ReadTransaction, queue: QueueName) -> Result<u64> {
    let queue = queue.as_str();
    let parked = rx.open_table(Q_PARKED)?;
    Ok(parked.range((queue, "", 0)..)?.take_while(|row| row.as_ref().is_ok_and(|(k, _)| k.value().0 == queue)).count()
        as u64)
}
