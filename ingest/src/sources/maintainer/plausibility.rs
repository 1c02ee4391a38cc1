//! Plausibility against the last published dataset: the reasons a maintainer file's figures
//! are quarantined instead of published.

use schemas::es_mx;

/// Plausibility of a count that should not shrink much: a reason when `now` fell more than
/// `max_fall_percent` below `before`.
pub fn fell(what: &str, before: u64, now: u64, max_fall_percent: f64) -> Option<String> {
    if before == 0 || now >= before {
        return None;
    }
    let fall = (before - now) as f64 * 100.0 / before as f64;
    (fall > max_fall_percent).then(|| {
        format!(
            "{what} bajan de {} a {} (−{}), por encima del umbral de {} %",
            es_mx::integer(before as i64),
            es_mx::integer(now as i64),
            es_mx::percent(fall / 100.0),
            es_mx::decimal(max_fall_percent, 1)
        )
    })
}

/// Plausibility of a cumulative figure: a reason when it fell at all, or rose more than
/// `max_jump_percent` in one publication.
pub fn cumulative(what: &str, before: u64, now: u64, max_jump_percent: f64) -> Option<String> {
    if now < before {
        return Some(format!(
            "{what} bajan de {} a {}, y son acumulados",
            es_mx::integer(before as i64),
            es_mx::integer(now as i64)
        ));
    }
    let jump = if before == 0 { 0.0 } else { (now - before) as f64 * 100.0 / before as f64 };
    (jump > max_jump_percent).then(|| {
        format!(
            "{what} suben de {} a {} (+{}), por encima del umbral de {} %",
            es_mx::integer(before as i64),
            es_mx::integer(now as i64),
            es_mx::percent(jump / 100.0),
            es_mx::decimal(max_jump_percent, 1)
        )
    })
}
